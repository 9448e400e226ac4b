import type { FieldError } from '../errors/problem.js';

/** Deeper than any body or query of the API needs (metadata is the deepest, at 2). */
const MAX_INPUT_DEPTH = 8;

/** Enough to name what is wrong without walking a hostile body to its end. */
const MAX_PROBLEMS = 20;

/**
 * Names that are members of every plain object. As keys they either shadow a method (and break
 * the validator reading the object) or are silently dropped by the object mappers; one rule for
 * all of them, at any depth, keeps the answer consistent: refused, naming the field.
 */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

function stringProblem(value: string): string | undefined {
  // Postgres can store neither in text or jsonb.
  if (value.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (!value.isWellFormed()) return 'must be valid Unicode text (it holds a lone UTF-16 surrogate)';
  return undefined;
}

/**
 * What no field of any request may hold, whatever its schema: nesting past MAX_INPUT_DEPTH, keys
 * named after Object.prototype members, and strings Postgres cannot store. Iterative, so a body
 * nested thousands deep is refused instead of overflowing the stack of whatever reads it next.
 */
export function inputProblems(input: unknown): FieldError[] {
  const problems: FieldError[] = [];
  const pending: { value: unknown; field: string; depth: number }[] = [{ value: input, field: '', depth: 0 }];
  while (pending.length > 0 && problems.length < MAX_PROBLEMS) {
    const { value, field, depth } = pending.pop()!;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) problems.push({ field: field || '(body)', message: problem });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_INPUT_DEPTH) {
      problems.push({ field: field || '(body)', message: `nests deeper than ${MAX_INPUT_DEPTH} levels` });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const path = Array.isArray(value) ? `${field}[${key}]` : field ? `${field}.${key}` : key;
      const keyProblem = PROTOTYPE_NAMES.has(key) ? 'is a reserved name and cannot be used as a field or metadata key' : stringProblem(key);
      if (keyProblem) problems.push({ field: path, message: keyProblem });
      else pending.push({ value: item, field: path, depth: depth + 1 });
    }
  }
  return problems;
}
