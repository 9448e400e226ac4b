import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { MemoryBudgets } from '../../src/http/rate-limit-memory.js';
import { freePort } from '../support/free-port.js';
import { type ApiResponse, call, chargesFor, createMerchant, resetStack, sleep, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

const create = (stack: Stack, key: string, idempotencyKey = randomUUID()) =>
  call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey });
const list = (stack: Stack, key?: string) => call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key });

/** `r` of a `RateLimit` header, checking its form and policy name. */
function remaining(res: ApiResponse, budget: 'writes' | 'reads'): number {
  const match = new RegExp(`^"${budget}";r=(\\d+);t=\\d+$`).exec(res.headers.get('ratelimit') ?? '');
  expect(match, `RateLimit of a ${res.status}: ${res.headers.get('ratelimit')}`).not.toBeNull();
  return Number(match![1]);
}

/** A 429 for a spent budget, as the spec has it; returns its Retry-After in seconds. */
function expectRateLimited(res: ApiResponse, budget: 'writes' | 'reads', q: number, w: number): number {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'urn:idempay:problem:rate-limited', status: 429, code: 'rate-limited', trace_id: res.headers.get('trace-id') });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(w);
  expect(res.headers.get('ratelimit')).toBe(`"${budget}";r=0;t=${retryAfter}`);
  expect(res.headers.get('ratelimit-policy')).toBe(`"${budget}";q=${q};w=${w}`);
  return retryAfter;
}

async function count(stack: Stack, table: 'idempotency_keys' | 'payments'): Promise<number> {
  const [row] = await stack.db.query(`SELECT count(*)::int AS n FROM ${table}`);
  return row.n;
}

describe('a budget of writes and one of reads per API key, in memory', () => {
  const WINDOW_S = 5;
  let stack: Stack;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    stack = await startStack({ rateLimitWrites: 3, rateLimitReads: 4, rateLimitWindowMs: WINDOW_S * 1000 });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await resetStack(stack);
    merchant = await createMerchant(stack);
  });

  it("refuses a key's writes past its budget with a 429 that stores nothing; reads and other keys go on; the same request goes through after Retry-After", async () => {
    const key = merchant.test_key;
    const created: ApiResponse[] = [];
    for (let i = 0; i < 3; i++) created.push(await create(stack, key));
    expect(created.map((res) => res.status)).toEqual([201, 201, 201]);
    expect(created.map((res) => remaining(res, 'writes'))).toEqual([2, 1, 0]);
    expect(created.map((res) => res.headers.get('ratelimit-policy'))).toEqual(Array(3).fill(`"writes";q=3;w=${WINDOW_S}`));

    const refusedKey = randomUUID();
    const refused = await create(stack, key, refusedKey);
    const retryAfter = expectRateLimited(refused, 'writes', 3, WINDOW_S);
    // A PATCH spends the same budget.
    const patchKey = randomUUID();
    const patch = await call(stack.baseUrl, 'PATCH', `/v1/payments/${created[0].body.id}`, { description: 'changed' }, { key, idempotencyKey: patchKey });
    expectRateLimited(patch, 'writes', 3, WINDOW_S);

    // Nothing of the refused requests: no key, no payment, no charge, no change.
    expect(await count(stack, 'idempotency_keys')).toBe(3);
    expect(await stack.db.query('SELECT id FROM idempotency_keys WHERE key IN ($1, $2)', [refusedKey, patchKey])).toEqual([]);
    expect(await count(stack, 'payments')).toBe(3);
    expect(totalCharges(stack)).toBe(3);
    expect((await call(stack.baseUrl, 'GET', `/v1/payments/${created[0].body.id}`, undefined, { key })).body.description).toBeNull();

    const read = await list(stack, key);
    expect(read.status).toBe(200);
    expect(remaining(read, 'reads')).toBe(2);
    expect(read.headers.get('ratelimit-policy')).toBe(`"reads";q=4;w=${WINDOW_S}`);

    const other = await createMerchant(stack, 'Other merchant');
    const otherCreate = await create(stack, other.test_key);
    expect(otherCreate.status).toBe(201);
    expect(remaining(otherCreate, 'writes')).toBe(2);

    await sleep(retryAfter * 1000 + 100);
    const again = await create(stack, key, refusedKey);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(remaining(again, 'writes')).toBe(2);
    expect(chargesFor(stack, again.body.id)).toBe(1);
    expect(await stack.db.query('SELECT id FROM payments WHERE operation_id = $1', [refusedKey])).toEqual([{ id: again.body.id }]);
  });

  it('spends reads (GET and HEAD, on /v1 and /v2) from their own budget, and writes still go through once it is spent', async () => {
    const key = merchant.test_key;
    const payment = await create(stack, key);
    expect(remaining(payment, 'writes')).toBe(2);

    const reads = [
      await call(stack.baseUrl, 'GET', `/v1/payments/${payment.body.id}`, undefined, { key }),
      await list(stack, key),
      await call(stack.baseUrl, 'GET', `/v2/payments/${payment.body.id}`, undefined, { key }),
      // HEAD is not an operation of the spec: the answer is not checked against it.
      await call(stack.baseUrl, 'HEAD', '/v1/payments', undefined, { key, spec: false }),
    ];
    expect(reads.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    expect(reads.map((res) => remaining(res, 'reads'))).toEqual([3, 2, 1, 0]);
    expectRateLimited(await call(stack.baseUrl, 'GET', `/v2/payments/${payment.body.id}`, undefined, { key }), 'reads', 4, WINDOW_S);
    expectRateLimited(await list(stack, key), 'reads', 4, WINDOW_S);

    const write = await create(stack, key);
    expect(write.status).toBe(201);
    expect(remaining(write, 'writes')).toBe(1);
  });

  it('counts requests without a key by their address, and leaves health, docs, the spec and provider webhooks out of every budget', async () => {
    const keyless: number[] = [];
    for (let i = 0; i < 6 && keyless.at(-1) !== 429; i++) keyless.push((await list(stack)).status);
    expect(keyless.slice(0, -1).every((status) => status === 401)).toBe(true);
    expectRateLimited(await list(stack), 'reads', 4, WINDOW_S);

    // Not the API's routes: none is counted or refused while this address's budget is spent.
    const others = [
      await call(stack.baseUrl, 'GET', '/docs', undefined, { spec: false }),
      await call(stack.baseUrl, 'GET', '/openapi/v1.yaml', undefined, { spec: false }),
      await call(stack.baseUrl, 'GET', '/health/live', undefined, { spec: false }),
      await call(stack.baseUrl, 'GET', '/metrics', undefined, { spec: false }),
      await call(stack.baseUrl, 'POST', '/provider-webhooks/sandbox', { id: 'evt_x' }),
    ];
    for (const res of others) {
      expect(res.status).not.toBe(429);
      expect(res.headers.get('ratelimit-policy')).toBeNull();
      expect(res.headers.get('ratelimit')).toBeNull();
    }
    expect(others.slice(0, 2).map((res) => res.status)).toEqual([200, 200]);
  });
});

describe('budgets kept in memory', () => {
  it('count each client in a window of its own, opened by its first request, and start it afresh when it ends', () => {
    const budgets = new MemoryBudgets(1_000, 100);
    expect(budgets.spend('a', 10_000)).toEqual({ used: 1, endsAt: 11_000 });
    expect(budgets.spend('a', 10_999)).toEqual({ used: 2, endsAt: 11_000 });
    expect(budgets.spend('b', 10_500)).toEqual({ used: 1, endsAt: 11_500 });
    expect(budgets.spend('a', 11_000)).toEqual({ used: 1, endsAt: 12_000 });
    expect(budgets.spend('b', 11_499)).toEqual({ used: 2, endsAt: 11_500 });
  });

  it('hold only open windows, and at most their capacity of clients, however many clients come', () => {
    const budgets = new MemoryBudgets(1_000, 50);
    for (let i = 0; i < 10_000; i++) budgets.spend(`client-${i}`, 10_000 + i);
    // Ten a millisecond would be 1,000 open windows: the capacity holds.
    expect(budgets.size).toBe(50);
    // Past every window's end, a new client's first request drops them all.
    budgets.spend('late', 100_000);
    expect(budgets.size).toBe(1);
    // The most recent clients were kept with their count.
    const recent = new MemoryBudgets(1_000, 3);
    for (const client of ['a', 'b', 'c', 'd']) recent.spend(client, 0);
    expect(recent.spend('d', 1).used).toBe(2);
    expect(recent.spend('a', 1).used).toBe(1);
  });
});

describe('a budget set to 0', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ rateLimitWrites: 0, rateLimitReads: 1, rateLimitWindowMs: 60_000 });
  });
  afterAll(() => stack.close());

  it('is off: writes are neither counted nor refused, reads still are', async () => {
    await resetStack(stack);
    const { test_key: key } = await createMerchant(stack);
    for (let i = 0; i < 3; i++) {
      const res = await create(stack, key);
      expect(res.status).toBe(201);
      expect([res.headers.get('ratelimit'), res.headers.get('ratelimit-policy')]).toEqual([null, null]);
    }
    expect(remaining(await list(stack, key), 'reads')).toBe(0);
    expectRateLimited(await list(stack, key), 'reads', 1, 60);
  });
});

describe('one budget for several instances, in Redis', () => {
  // This run's own keys, removed at the end.
  const prefix = `idempay-test-${randomUUID()}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  let first: Stack;
  let second: Stack;

  async function keysUnder(match: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${match}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  }

  beforeAll(async () => {
    await redis.connect();
    const config = { redisUrl: REDIS_URL, redisKeyPrefix: prefix, rateLimitWrites: 4, rateLimitReads: 100, rateLimitWindowMs: 30_000 };
    first = await startStack(config);
    second = await startStack(config);
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    const keys = await keysUnder(prefix);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('two instances on one Redis spend one budget, which Redis knows by a hash of the key only', async () => {
    await resetStack(first);
    second.sandbox.reset();
    const merchant = await createMerchant(first);
    const answers: ApiResponse[] = [];
    for (let i = 0; i < 6; i++) answers.push(await create(i % 2 === 0 ? first : second, merchant.test_key));

    expect(answers.map((res) => res.status)).toEqual([201, 201, 201, 201, 429, 429]);
    // Counted together: each instance alone would have let all six through.
    expect(answers.slice(0, 4).map((res) => remaining(res, 'writes'))).toEqual([3, 2, 1, 0]);
    for (const refused of answers.slice(4)) expectRateLimited(refused, 'writes', 4, 30);
    expect(await count(first, 'payments')).toBe(4);
    expect(totalCharges(first) + totalCharges(second)).toBe(4);

    const hashed = createHash('sha256').update(merchant.test_key).digest('hex');
    expect(await keysUnder(prefix)).toEqual([`${prefix}rate-limit:w:${hashed}`]);
    expect(await redis.get(`${prefix}rate-limit:w:${hashed}`)).toBe('6');
    expect(await keysUnder(`*${merchant.test_key}`)).toEqual([]);
  });
});

describe('when Redis cannot answer, requests go through uncounted (fail-open) and at once', () => {
  const silentSockets = new Set<Socket>();
  // Accepts connections and never answers: a Redis that hangs.
  const silent = createServer((socket) => silentSockets.add(socket));

  beforeAll(async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it.each([
    ['nothing listens on its port', async () => `redis://127.0.0.1:${await freePort()}`],
    ['it accepts connections and never answers', async () => `redis://127.0.0.1:${(silent.address() as { port: number }).port}`],
  ])('%s', async (_case, redisUrl) => {
    const stack = await startStack({ redisUrl: await redisUrl(), rateLimitWrites: 1, rateLimitReads: 1, rateLimitWindowMs: 60_000 });
    try {
      await resetStack(stack);
      const { test_key: key } = await createMerchant(stack);
      for (const send of [() => create(stack, key), () => create(stack, key), () => list(stack, key), () => list(stack, key)]) {
        const started = performance.now();
        const res = await send();
        expect(performance.now() - started).toBeLessThan(1_000);
        expect([200, 201]).toContain(res.status);
        // The budget is announced, but how much is left is not known.
        expect(res.headers.get('ratelimit-policy')).toMatch(/^"(writes|reads)";q=1;w=60$/);
        expect(res.headers.get('ratelimit')).toBeNull();
      }
      expect(await count(stack, 'payments')).toBe(2);
    } finally {
      await stack.close();
    }
  });
});
