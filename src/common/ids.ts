import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A prefixed, time-sortable id (`pay_01JD8X…`): 48 bits of milliseconds then 80 random bits, in
 * Crockford base32 like a ULID. Sorting ids sorts by creation time, so lists page by id alone.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[bytes[i] % 32];
  return `${prefix}_${time}${random}`;
}

/** Whether `value` could be an id made by newId(prefix); anything else names nothing, so no query is needed. */
export function isIdOf(prefix: string, value: string): boolean {
  return value.length === prefix.length + 27 && value.startsWith(`${prefix}_`) && /^[0-9A-Z]{26}$/.test(value.slice(prefix.length + 1));
}
