import { hash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Mode } from './auth-context.js';

/** One-shot (every authenticated request hashes its key): a third of createHash's cost. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

// `credentials = auth-scheme [ 1*SP token68 ]` (RFC 9110 §11.4): the scheme in any case, then spaces, never a tab.
const BEARER = /^Bearer +(\S+)$/i;
const KEY_HASH = Symbol('bearer key hash');

/** The key an `Authorization: Bearer …` header carries. */
export function bearerKeyOf(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/**
 * The hash of the request's bearer key, made once per request: the rate limit counts by it before the
 * key is looked up, and authentication looks the key up by it.
 */
export function bearerKeyHashOf(request: FastifyRequest): string | undefined {
  const memo = request as FastifyRequest & { [KEY_HASH]?: string | null };
  if (memo[KEY_HASH] === undefined) {
    const key = bearerKeyOf(request.headers.authorization);
    memo[KEY_HASH] = key === undefined ? null : hashApiKey(key);
  }
  return memo[KEY_HASH] ?? undefined;
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
