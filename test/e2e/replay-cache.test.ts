import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { loadConfig } from '../../src/config/app-config.js';
import { ReplayCache } from '../../src/idempotency/replay-cache.js';
import { call, createMerchant, HOUR, resetStack, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

let cached: Stack;
let uncached: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  cached = await startStack();
  // A second instance on the same database, with no memory of its own: it reads Postgres every time.
  uncached = await startStack({ replayCacheMaxBytes: 0 });
});
afterAll(async () => {
  await cached.close();
  await uncached.close();
});
beforeEach(async () => {
  await resetStack(cached);
  merchant = await createMerchant(cached);
});

const post = (stack: Stack, body: unknown, idempotencyKey: string) =>
  call(stack.baseUrl, 'POST', '/v1/payments', body, { key: merchant.test_key, idempotencyKey });

describe('replays of finished keys from memory', () => {
  it('an instance answers a key it saw finish without reading it again, byte for byte, and refuses a different body', async () => {
    const key = randomUUID();
    const first = await post(cached, visa, key);
    expect(first.status).toBe(201);
    // Gone from Postgres: only the instance's memory can still answer with the stored bytes.
    await cached.db.query('DELETE FROM idempotency_keys WHERE key = $1', [key]);

    const replay = await post(cached, visa, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));

    const other = await post(cached, { ...visa, amount: 1234 }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency-key-reused');
    expect(other.body.errors).toEqual([expect.objectContaining({ field: 'amount' })]);
    expect(totalCharges(cached)).toBe(1);
  });

  it('an instance that only read the finished key (another one answered it) remembers it too', async () => {
    const key = randomUUID();
    const first = await post(uncached, visa, key);
    const fromPostgres = await post(cached, visa, key);
    expect(fromPostgres.headers.get('idempotent-replayed')).toBe('true');
    await cached.db.query('DELETE FROM idempotency_keys WHERE key = $1', [key]);

    const fromMemory = await post(cached, visa, key);
    expect(fromMemory.headers.get('idempotent-replayed')).toBe('true');
    expect(fromMemory.text).toBe(first.text);
    // Without memory, the deleted key is a new claim: the payment it made is found by operation_id, no second charge.
    const noMemory = await post(uncached, visa, key);
    expect(noMemory.status).toBe(201);
    expect(noMemory.headers.get('idempotent-replayed')).toBeNull();
    expect(noMemory.body.id).toBe(first.body.id);
    expect(totalCharges(cached) + totalCharges(uncached)).toBe(1);
  });

  it('a stored client error is replayed from memory as well', async () => {
    const key = randomUUID();
    const metadata = (from: number, length: number) => Object.fromEntries(Array.from({ length }, (_, i) => [`k${from + i}`, 'v']));
    const created = await post(cached, { ...visa, metadata: metadata(0, 15) }, randomUUID());
    expect(created.status).toBe(201);
    const paymentId = created.body.id;
    // Valid on its own, too many keys once merged with the payment's: refused inside the phase, and stored.
    const patch = () => call(cached.baseUrl, 'PATCH', `/v1/payments/${paymentId}`, { metadata: metadata(15, 10) }, { key: merchant.test_key, idempotencyKey: key });
    const refused = await patch();
    expect(refused.body.code).toBe('validation-failed');
    expect(refused.status).toBe(400);
    await cached.db.query('DELETE FROM idempotency_keys WHERE key = $1', [key]);
    const replay = await patch();
    expect(replay.status).toBe(400);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(refused.text);
  });
});

describe('ReplayCache', () => {
  const finished = (body: string) => ({ fingerprint: 'f', response: { status: 201, headers: {}, body } });
  const auth = { merchantId: 'mer_1', mode: 'test' as const };

  it('forgets an answer when its key reaches its TTL, counted from when the key was stored', async () => {
    const cache = new ReplayCache(loadConfig({}, { idempotencyTtlHours: 1 }));
    cache.remember(auth, 'old', new Date(Date.now() - HOUR + 100), finished('a'));
    cache.remember(auth, 'expired', new Date(Date.now() - HOUR - 1), finished('b'));
    expect(cache.get(auth, 'old')?.response.body).toBe('a');
    expect(cache.get(auth, 'expired')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(cache.get(auth, 'old')).toBeUndefined();
  });

  it('holds no more than its byte budget, dropping the least recently used answers', () => {
    const cache = new ReplayCache(loadConfig({}, { replayCacheMaxBytes: 64 * 1024 }));
    const body = 'x'.repeat(1000);
    for (let i = 0; i < 1000; i++) cache.remember(auth, `k${i}`, new Date(), finished(body));
    const kept = Array.from({ length: 1000 }, (_, i) => cache.get(auth, `k${i}`)).filter(Boolean).length;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(40);
    expect(cache.get(auth, 'k999')).toBeDefined();
    expect(cache.get(auth, 'k0')).toBeUndefined();
  });

  it('keys are per merchant and mode', () => {
    const cache = new ReplayCache(loadConfig({}));
    cache.remember(auth, 'k', new Date(), finished('a'));
    expect(cache.get({ ...auth, mode: 'live' }, 'k')).toBeUndefined();
    expect(cache.get({ ...auth, merchantId: 'mer_2' }, 'k')).toBeUndefined();
  });
});
