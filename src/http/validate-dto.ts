import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { type FieldError, ProblemError } from '../errors/problem.js';
import { inputProblems } from './input-guard.js';

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

function invalid(list: FieldError[]): ProblemError {
  return new ProblemError('validation-failed', `Invalid fields: ${[...new Set(list.map((e) => e.field))].join(', ')}.`, list);
}

/**
 * Validates a JSON body or query against a DTO class. What no field may hold (input-guard.ts) is
 * refused first; unknown fields are refused (never silently stripped), so a typo in a field name is
 * a 400 and not a request that quietly ignores it.
 */
export function validateDto<T extends object>(cls: new () => T, input: unknown): T {
  const instance = plainToInstance(cls, safeObject(input), { enableImplicitConversion: false });
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, stopAtFirstError: true });
  if (errors.length > 0) throw invalid(fieldErrors(errors));
  return instance;
}

/** A JSON object holding nothing no field may hold: safe to walk (hash, compare) before its DTO's checks. */
export function safeObject(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ProblemError('validation-failed', 'The body must be a JSON object.', [{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const unsafe = inputProblems(input);
  if (unsafe.length > 0) throw invalid(unsafe);
  return input as Record<string, unknown>;
}

/** The body of an operation that takes no fields: `{}`, or a 400 naming every field sent. */
export function refuseFields(body: Record<string, unknown>): Record<string, never> {
  const fields = Object.keys(body);
  if (fields.length > 0) throw invalid(fields.map((field) => ({ field, message: `${field} is not a known field` })));
  return {};
}
