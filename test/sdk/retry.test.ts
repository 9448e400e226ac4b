import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isRetryableStatus, retryAfterMs, retryDelay } from '../../sdk/src/retry.js';
import { SDK_VERSION } from '../../sdk/src/index.js';
import type { Problem } from '../../sdk/src/index.js';

const backoff = { retryBaseDelayMs: 100, retryMaxDelayMs: 1000 };
// Math.random() never returns 1: the largest value it can give.
const TOP = 1 - Number.EPSILON;

describe('retryDelay: full jitter', () => {
  it.each([
    [0, 100],
    [1, 200],
    [2, 400],
    [3, 800],
    [4, 1000],
    [10, 1000],
  ])('retry %i: uniform in [0, %i)', (retry, ceiling) => {
    expect(retryDelay(retry, null, backoff, () => 0)).toBe(0);
    expect(retryDelay(retry, null, backoff, () => 0.5)).toBe(ceiling / 2);
    expect(retryDelay(retry, null, backoff, () => TOP)).toBeCloseTo(ceiling, 6);
    expect(retryDelay(retry, null, backoff, () => TOP)).toBeLessThan(ceiling);
  });

  it('stays within its bounds for any draw of the random source', () => {
    let seed = 42;
    // A small LCG: reproducible draws over the whole [0, 1) range.
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let retry = 0; retry < 12; retry++) {
      const ceiling = Math.min(backoff.retryMaxDelayMs, backoff.retryBaseDelayMs * 2 ** retry);
      for (let i = 0; i < 200; i++) {
        const delay = retryDelay(retry, null, backoff, random) as number;
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it('never waits less than Retry-After, and no longer than the cap because of it', () => {
    expect(retryDelay(0, 300, backoff, () => 0)).toBe(300);
    expect(retryDelay(0, 300, backoff, () => TOP)).toBe(300);
    expect(retryDelay(4, 300, backoff, () => 0.9)).toBe(900);
    expect(retryDelay(0, 1000, backoff, () => 0)).toBe(1000);
    expect(retryDelay(0, 0, backoff, () => 0.5)).toBe(50);
  });

  it('gives up when Retry-After asks for more than retryMaxDelayMs', () => {
    expect(retryDelay(0, 1001, backoff, () => 0)).toBeNull();
  });
});

describe('retryAfterMs', () => {
  const headers = (value?: string) => new Headers(value === undefined ? {} : { 'retry-after': value });

  it('reads delta-seconds', () => {
    expect(retryAfterMs(headers('1'))).toBe(1000);
    expect(retryAfterMs(headers('0'))).toBe(0);
  });

  it('ignores a missing or unreadable value', () => {
    expect(retryAfterMs(headers())).toBeNull();
    expect(retryAfterMs(headers('soon'))).toBeNull();
    expect(retryAfterMs(headers('-1'))).toBeNull();
  });
});

describe('isRetryableStatus', () => {
  const problem = (code: string) => ({ code }) as Problem;

  it('retries 409 only while the key is in use', () => {
    expect(isRetryableStatus(409, problem('idempotency-key-in-use'))).toBe(true);
    expect(isRetryableStatus(409, problem('something-else'))).toBe(false);
    expect(isRetryableStatus(409, null)).toBe(false);
  });

  it.each([429, 500, 502, 503, 504])('retries %i', (status) => {
    expect(isRetryableStatus(status, null)).toBe(true);
  });

  it.each([400, 401, 403, 404, 413, 415, 422])('never retries %i', (status) => {
    expect(isRetryableStatus(status, problem('any'))).toBe(false);
  });
});

describe('SDK_VERSION', () => {
  it('is the version in sdk/package.json', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../sdk/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(manifest.version);
  });
});
