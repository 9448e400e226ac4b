import type { Problem } from './types.js';

export interface BackoffOptions {
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

/**
 * How long to wait before retry number `retry` (0 for the first), or `null` to give up.
 *
 * Full jitter (uniform in [0, min(max, base · 2^retry)]) spreads the retries of many clients that
 * failed together instead of bringing them back in waves. The server's `Retry-After` is a floor, but
 * a server asking for more than `retryMaxDelayMs` is better answered with the error than with a hang.
 */
export function retryDelay(retry: number, retryAfterMs: number | null, options: BackoffOptions, random: () => number): number | null {
  if (retryAfterMs !== null && retryAfterMs > options.retryMaxDelayMs) return null;
  const ceiling = Math.min(options.retryMaxDelayMs, options.retryBaseDelayMs * 2 ** retry);
  const jitter = random() * ceiling;
  return Math.max(jitter, retryAfterMs ?? 0);
}

/** `Retry-After` in milliseconds; the API only sends delta-seconds, anything else is ignored. */
export function retryAfterMs(headers: Headers): number | null {
  const value = headers.get('retry-after')?.trim();
  return value && /^\d+$/.test(value) ? Number(value) * 1000 : null;
}

/**
 * Statuses worth another attempt with the same Idempotency-Key: the request may succeed later and the
 * key makes a repeat harmless. Other 4xx are the caller's to fix; repeating them changes nothing.
 */
export function isRetryableStatus(status: number, problem: Problem | null): boolean {
  if (status === 409) return problem?.code === 'idempotency-key-in-use';
  return status === 429 || (status >= 500 && status <= 599);
}
