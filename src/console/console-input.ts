import { ConsoleRefusal } from './console-refusal.js';

/**
 * One text value of a query or a form: absent (or blank), or a single string of at most `max`
 * characters that Postgres can store (no NUL, no lone surrogate); anything else is a 400 page.
 */
export function text(value: unknown, name: string, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ConsoleRefusal('bad-input', `Give ${name} once.`);
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (trimmed.length > max) throw new ConsoleRefusal('bad-input', `${name} must be at most ${max} characters.`);
  if (trimmed.includes('\u0000') || !trimmed.isWellFormed()) throw new ConsoleRefusal('bad-input', `${name} holds characters that cannot be stored.`);
  return trimmed;
}

export function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T | undefined {
  const given = text(value, name, 100);
  if (given === undefined) return undefined;
  if (!allowed.includes(given as T)) throw new ConsoleRefusal('bad-input', `${name} must be one of ${allowed.join(', ')}.`);
  return given as T;
}

/** A value that must match `pattern` (an id), or be absent. */
export function matching(value: unknown, name: string, pattern: RegExp): string | undefined {
  const given = text(value, name, 300);
  if (given !== undefined && !pattern.test(given)) throw new ConsoleRefusal('bad-input', `${name} is not a valid value.`);
  return given;
}

/** Inbox rows are numbered by a bigint identity. */
export const INBOX_ID = /^[1-9][0-9]{0,17}$/;
/** The provider names the configuration accepts (PROVIDER_NAME), and the sandbox's. */
export const PROVIDER_NAME = /^[a-z][a-z0-9_-]{0,39}$/;
