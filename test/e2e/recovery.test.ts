import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { Completer } from '../../src/idempotency/completer.js';
import { startChildServer } from '../support/child-server.js';
import { call, chargesFor, createMerchant, HOUR, resetStack, SHORT_LEASE, SHORT_LEASE_ENV, sleep, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

const LEASE_MS = SHORT_LEASE.idempotencyLeaseMs;

let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  // A short lease, so the budgets that must end inside it are short too. The tests run the
  // completer themselves: its own pass, every 5 s by default, would race theirs for the keys.
  stack = await startStack({ ...SHORT_LEASE, providerTimeoutMs: 500, completerIntervalMs: HOUR });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

interface KeyState {
  recovery_point: string;
  locked: boolean;
  resource_id: string | null;
}

async function keyState(key: string): Promise<KeyState> {
  const rows: KeyState[] = await stack.db.query(
    'SELECT recovery_point, locked_by IS NOT NULL AS locked, resource_id FROM idempotency_keys WHERE key = $1',
    [key],
  );
  return rows[0];
}

/** Sends a create (or another request) to a server that kills itself (SIGKILL) at `point`; returns once it is dead. */
async function crashAt(point: string, key: string, path = '/v1/payments', body: unknown = visa): Promise<void> {
  const child = await startChildServer({
    DATABASE_URL: stack.config.databaseUrl!,
    SANDBOX_URL: stack.sandboxUrl,
    IDEMPAY_CRASH_AT: point,
    ...SHORT_LEASE_ENV,
    PROVIDER_TIMEOUT_MS: '500',
  });
  const request = call(child.baseUrl, 'POST', path, body, { key: merchant.test_key, idempotencyKey: key });
  await expect(request).rejects.toThrow();
  expect(await child.exited).toBe('SIGKILL');
}

describe('a process dying at each recovery point', () => {
  // A create stores its claim with its payment: `payment_created` is its first point.
  it.each([
    ['payment_created', 'payment_created', 0],
    ['provider_called', 'payment_created', 1],
  ])('dies after %s: the retry waits out the lease, then completes with exactly one charge', async (point, recoveryPoint, chargedBeforeRetry) => {
    const key = randomUUID();
    await crashAt(point, key);

    const stranded = await keyState(key);
    expect(stranded).toMatchObject({ recovery_point: recoveryPoint, locked: true });
    expect(totalCharges(stack)).toBe(chargedBeforeRetry);

    // The dead owner's lease is still fresh: the retry is told to come back, nothing runs twice.
    const early = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('idempotency-key-in-use');
    expect(early.headers.get('retry-after')).toBe('1');

    await sleep(LEASE_MS + 100);
    const retry = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(retry.status).toBe(201);
    expect(retry.body.status).toBe('succeeded');
    if (stranded.resource_id) expect(retry.body.id).toBe(stranded.resource_id);
    expect(chargesFor(stack, retry.body.id)).toBe(1);
    expect(totalCharges(stack)).toBe(1);
    expect(await stack.db.query('SELECT id FROM payments WHERE operation_id = $1', [key])).toHaveLength(1);
    expect(await keyState(key)).toMatchObject({ recovery_point: 'finished', locked: false });

    const replay = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(retry.text);
  });

  it('the completer finishes a key whose provider call was made, with no client retry, and the late retry replays it', async () => {
    const key = randomUUID();
    await crashAt('provider_called', key);
    const completer = stack.app.get(Completer);
    expect(await completer.runOnce()).toEqual({ released: 0, finished: 0 }); // the lease is still fresh
    await sleep(LEASE_MS + 100);
    expect(await completer.runOnce()).toEqual({ released: 0, finished: 1 });

    expect(await keyState(key)).toMatchObject({ recovery_point: 'finished', locked: false });
    const payments: { id: string; status: string }[] = await stack.db.query('SELECT id, status FROM payments WHERE operation_id = $1', [key]);
    expect(payments).toEqual([{ id: expect.any(String), status: 'succeeded' }]);
    expect(chargesFor(stack, payments[0].id)).toBe(1);
    // It asked the provider by key before anything else, and found the charge: nothing was sent twice.
    const attempts: { operation: string; outcome: string }[] = await stack.db.query(
      'SELECT operation, outcome FROM provider_attempts WHERE payment_id = $1 ORDER BY id',
      [payments[0].id],
    );
    expect(attempts).toEqual([
      { operation: 'charge', outcome: 'succeeded' },
      { operation: 'find_charge', outcome: 'succeeded' },
    ]);

    const late = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(late.status).toBe(201);
    expect(late.headers.get('idempotent-replayed')).toBe('true');
    expect(late.body.id).toBe(payments[0].id);
    expect(totalCharges(stack)).toBe(1);
  });

  // The same state is what a refusal leaves when its own cleanup cannot be written (Postgres went
  // away after the claim): the completer must not carry out what nobody may have been told was done.
  it('the completer releases a key stranded after payment_created, before any charge: no charge, no payment, no key; the retry charges once', async () => {
    const key = randomUUID();
    await crashAt('payment_created', key);
    expect(await keyState(key)).toMatchObject({ recovery_point: 'payment_created', locked: true });
    await sleep(LEASE_MS + 100);
    expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 1, finished: 0 });

    expect(await keyState(key)).toBeUndefined();
    expect(await stack.db.query('SELECT id FROM payments WHERE operation_id = $1', [key])).toEqual([]);
    expect(totalCharges(stack)).toBe(0);
    expect(stack.sandbox.requests.get('POST /v1/charges')).toBe(0);
    // Nothing is left for a later pass either.
    await sleep(LEASE_MS + 100);
    expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 0, finished: 0 });
    expect(totalCharges(stack)).toBe(0);

    const retry = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(chargesFor(stack, retry.body.id)).toBe(1);
    expect(totalCharges(stack)).toBe(1);
  });
});

describe('a process dying right after claiming a key at `started`', () => {
  it('leaves a key the completer deletes, never carries out: no refund, no key; the retry refunds once', async () => {
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(created.status).toBe(201);
    const key = randomUUID();
    await crashAt('claimed', key, `/v1/payments/${created.body.id}/refunds`, { amount: 1000 });
    expect(await keyState(key)).toMatchObject({ recovery_point: 'started', locked: true });
    await sleep(LEASE_MS + 100);
    expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 1, finished: 0 });

    expect(await keyState(key)).toBeUndefined();
    expect(await stack.db.query('SELECT id FROM refunds')).toEqual([]);
    expect(stack.sandbox.requests.get('POST /v1/refunds')).toBe(0);
    await sleep(LEASE_MS + 100);
    expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 0, finished: 0 });

    const retry = await call(stack.baseUrl, 'POST', `/v1/payments/${created.body.id}/refunds`, { amount: 1000 }, { key: merchant.test_key, idempotencyKey: key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(stack.sandbox.requests.get('POST /v1/refunds')).toBe(1);
    expect(await stack.db.query('SELECT id FROM refunds')).toHaveLength(1);
  });
});

describe('a completer that dies holding a key', () => {
  it('leaves it to another instance, which finishes it one lease later with the one charge', async () => {
    const key = randomUUID();
    await crashAt('provider_called', key);
    const [{ locked_by: deadOwner }] = await stack.db.query('SELECT locked_by FROM idempotency_keys WHERE key = $1', [key]);
    // A second server whose completer takes the key once its lease is stale, and hangs asking the provider.
    stack.sandbox.configure({ latencyMs: 5_000 });
    const child = await startChildServer({
      DATABASE_URL: stack.config.databaseUrl!,
      SANDBOX_URL: stack.sandboxUrl,
      ...SHORT_LEASE_ENV,
      PROVIDER_TIMEOUT_MS: '500',
      COMPLETER_INTERVAL_MS: '100',
    });
    let owner = deadOwner;
    for (let i = 0; owner === deadOwner && i < 100; i++) {
      await sleep(50);
      [{ locked_by: owner }] = await stack.db.query('SELECT locked_by FROM idempotency_keys WHERE key = $1', [key]);
    }
    expect(owner).not.toBe(deadOwner);
    child.process.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    stack.sandbox.configure({ latencyMs: 0 });

    const completer = stack.app.get(Completer);
    expect(await completer.runOnce()).toEqual({ released: 0, finished: 0 }); // the dead completer's lease is fresh
    await sleep(LEASE_MS + 100);
    expect(await completer.runOnce()).toEqual({ released: 0, finished: 1 });
    expect(await keyState(key)).toMatchObject({ recovery_point: 'finished', locked: false });
    expect(totalCharges(stack)).toBe(1);
  });
});

describe('a server error inside a phase', () => {
  it('gives the lease back and keeps the recovery point; the retry resumes at once', async () => {
    const key = randomUUID();
    // The payments table refuses any outcome: phase 4 fails after the provider has charged.
    await stack.db.query(`ALTER TABLE payments ADD CONSTRAINT ck_test_no_outcome CHECK (status IN ('pending'))`);
    try {
      const failed = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
      expect(failed.status).toBe(500);
      expect(failed.body.code).toBe('internal-error');
      expect(await keyState(key)).toMatchObject({ recovery_point: 'payment_created', locked: false });
    } finally {
      await stack.db.query('ALTER TABLE payments DROP CONSTRAINT ck_test_no_outcome');
    }
    const retry = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(retry.status).toBe(201);
    expect(retry.body.status).toBe('succeeded');
    // The provider honoured our derived key: the second call replayed the first charge.
    expect(chargesFor(stack, retry.body.id)).toBe(1);
  });
});

describe('kill -9 with calls in flight', () => {
  it('after a restart, client retries and the completer leave exactly one charge per key and no key locked', async () => {
    stack.sandbox.latencyMs = 400;
    const child = await startChildServer({
      DATABASE_URL: stack.config.databaseUrl!,
      SANDBOX_URL: stack.sandboxUrl,
      ...SHORT_LEASE_ENV,
      PROVIDER_TIMEOUT_MS: '500',
    });
    const keys = Array.from({ length: 20 }, () => randomUUID());
    const inFlight = keys.map((key) => call(child.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key }).then(() => 'answered', () => 'cut'));
    await sleep(200);
    child.process.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    expect((await Promise.all(inFlight)).filter((r) => r === 'answered')).toEqual([]);
    stack.sandbox.latencyMs = 0;

    // The restarted server (this in-process one) finishes half the keys through client retries and
    // the other half through the completer, once the dead process's leases are stale.
    await sleep(LEASE_MS + 100);
    const retried = keys.slice(0, 10);
    for (const key of retried) {
      const res = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
      expect(res.status).toBe(201);
    }
    await stack.app.get(Completer).runOnce();

    const leftover: { n: number }[] = await stack.db.query(
      `SELECT count(*)::int AS n FROM idempotency_keys WHERE locked_by IS NOT NULL OR recovery_point <> 'finished'`,
    );
    expect(leftover[0].n).toBe(0);
    for (const key of keys) {
      const payments: { id: string; status: string }[] = await stack.db.query('SELECT id, status FROM payments WHERE operation_id = $1', [key]);
      // A key whose claim never committed before the kill has no payment: its retry makes it now.
      if (payments.length === 0) {
        const res = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
        expect(res.status).toBe(201);
        payments.push({ id: res.body.id, status: res.body.status });
      }
      expect(payments).toHaveLength(1);
      expect(payments[0].status).toBe('succeeded');
      expect(chargesFor(stack, payments[0].id)).toBe(1);
    }
    expect(totalCharges(stack)).toBe(20);
  });
});
