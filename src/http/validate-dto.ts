import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { type FieldError, ProblemError } from '../errors/problem.js';

function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: message.startsWith('property ') ? `${field} is not a known field` : message,
    }));
    return [...own, ...fieldErrors(e.children ?? [], field)];
  });
}

/** Postgres cannot store U+0000 in text or jsonb: such a field is refused here, not as a 500 later. */
function nulFields(value: unknown, path: string): FieldError[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [{ field: path || '(body)', message: 'must not contain the NUL character (\\u0000)' }] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => {
    const field = path ? `${path}.${key}` : key;
    return key.includes('\u0000') ? [{ field, message: 'must not contain the NUL character (\\u0000)' }] : nulFields(item, field);
  });
}

/**
 * Validates a JSON body or query against a DTO class. Unknown fields are refused (never silently
 * stripped), so a typo in a field name is a 400 and not a request that quietly ignores it.
 */
export function validateDto<T extends object>(cls: new () => T, input: unknown): T {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ProblemError('validation-failed', 'The body must be a JSON object.', [{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const nul = nulFields(input, '');
  if (nul.length > 0) throw new ProblemError('validation-failed', `Invalid fields: ${nul.map((e) => e.field).join(', ')}.`, nul);
  const instance = plainToInstance(cls, input, { enableImplicitConversion: false });
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, stopAtFirstError: true });
  if (errors.length > 0) {
    const list = fieldErrors(errors);
    throw new ProblemError('validation-failed', `Invalid fields: ${[...new Set(list.map((e) => e.field))].join(', ')}.`, list);
  }
  return instance;
}
