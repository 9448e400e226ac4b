import { hash, randomBytes } from 'node:crypto';
import type { Mode } from './auth-context.js';

/** One-shot (every authenticated request hashes its key, and the rate limit once more): a third of createHash's cost. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** A new secret key (`sk_test_…` or `sk_live_…`); only its hash is ever stored. */
export function generateApiKey(mode: Mode): string {
  return `sk_${mode}_${randomBytes(24).toString('base64url')}`;
}

export function modeOfKey(key: string): Mode | undefined {
  if (key.startsWith('sk_test_')) return 'test';
  if (key.startsWith('sk_live_')) return 'live';
  return undefined;
}

/** What may be shown of a key in a console or log: its mode prefix and last four characters. */
export function keyHint(key: string): string {
  return `${key.slice(0, 8)}…${key.slice(-4)}`;
}
