import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Idempay, IdempayError } from '../../sdk/src/index.js';
import { PaymentReconciler } from '../../src/payments/payment-reconciler.js';
import { call, createMerchant, resetStack, setProviderEnabled, sleep, type Stack, startStack, visa } from '../support/harness.js';

const sandboxConfig = (stack: Stack, knobs: Record<string, unknown>) =>
  call(stack.sandboxUrl, 'POST', '/__sandbox/config', knobs, { spec: false }).then((res) => expect(res.status).toBe(200));
const sandboxRequests = async (stack: Stack): Promise<number> => (await call(stack.sandboxUrl, 'GET', '/__sandbox/requests', undefined, { spec: false })).body.total;
const post = (stack: Stack, key: string, idempotencyKey = randomUUID()) => call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey });

/** Runs the reconciler until nothing is processing any more (bounded). */
async function reconcileAll(stack: Stack): Promise<void> {
  const reconciler = stack.app.get(PaymentReconciler);
  for (let pass = 0; pass < 50; pass++) {
    const [{ n }] = await stack.db.query(`SELECT count(*)::int AS n FROM payments WHERE status IN ('pending', 'processing')`);
    if (n === 0) return;
    await stack.db.query(`UPDATE payments SET next_reconcile_at = now() WHERE status = 'processing'`);
    await reconciler.runOnce();
  }
}

describe('chaos: 30 % 5xx and 20 % timeouts over 300 payments, with client retries', () => {
  let stack: Stack;
  const base = 20;
  const max = 200;
  beforeAll(async () => {
    stack = await startStack({
      providerTimeoutMs: 150,
      providerBudgetMs: 900,
      requestBudgetMs: 1_500,
      providerRetryBaseMs: base,
      providerRetryMaxMs: max,
      // This run is about retries and double charges: the breaker must not cut it short.
      breakerConsecutiveFailures: 1_000,
      breakerMinimumCalls: 10_000,
      breakerWindowSize: 10_000,
      bulkheadLimit: 64,
      bulkheadQueue: 512,
      reconcileBaseMs: 10,
    });
  });
  afterAll(() => stack.close());

  it('charges no key twice, settles every payment, makes at most 3 attempts per call, waits inside the backoff bounds', async () => {
    await resetStack(stack);
    const merchant = await createMerchant(stack);
    await sandboxConfig(stack, { error_rate: 0.3, timeout_rate: 0.2, seed: 42 });
    const client = new Idempay({ apiKey: merchant.test_key, baseUrl: stack.baseUrl, maxRetries: 6, retryBaseDelayMs: 10, retryMaxDelayMs: 100 });

    const keys = Array.from({ length: 300 }, () => randomUUID());
    const answers: (number | string)[] = [];
    for (let i = 0; i < keys.length; i += 15) {
      const batch = keys.slice(i, i + 15).map((key) =>
        client.payments.create(visa, { idempotencyKey: key }).then(
          (p) => p.lastResponse.status,
          (e: unknown) => (e instanceof IdempayError ? `error ${e.status} ${e.code}` : String(e)),
        ),
      );
      answers.push(...(await Promise.all(batch)));
    }
    // Every create was acknowledged: a 201 with the outcome or a 202 to settle later.
    expect(answers.filter((a) => a !== 201 && a !== 202)).toEqual([]);
    expect(answers.filter((a) => a === 202).length).toBeGreaterThan(0);

    await sandboxConfig(stack, { error_rate: 0, timeout_rate: 0 });
    await reconcileAll(stack);

    const payments: { id: string; status: string; provider_key: string }[] = await stack.db.query('SELECT id, status, provider_key FROM payments');
    expect(payments).toHaveLength(300);
    expect(payments.filter((p) => p.status !== 'succeeded')).toEqual([]);
    for (const p of payments) expect(stack.sandbox.executions.get(p.provider_key)).toBe(1);
    expect([...stack.sandbox.executions.values()].every((n) => n === 1)).toBe(true);

    const calls: { max: number }[] = await stack.db.query(`SELECT max(attempt)::int AS max FROM provider_attempts WHERE operation = 'charge'`);
    expect(calls[0].max).toBeLessThanOrEqual(3);

    // The wait before attempt n >= 2 is full jitter in [0, min(max, base * 2^(n-2))], and really was waited.
    const waits: { attempt: number; waited_ms: number; gap_ms: string }[] = await stack.db.query(
      `SELECT a.attempt, a.waited_ms,
              extract(epoch FROM (a.created_at - make_interval(secs => a.latency_ms / 1000.0)) - b.created_at) * 1000 AS gap_ms
         FROM provider_attempts a JOIN provider_attempts b
           ON b.provider_key = a.provider_key AND b.operation = a.operation AND b.attempt = a.attempt - 1 AND b.created_at < a.created_at
        WHERE a.operation = 'charge' AND a.attempt > 1`,
    );
    expect(waits.length).toBeGreaterThan(0);
    for (const { attempt, waited_ms, gap_ms } of waits) {
      expect(waited_ms).toBeGreaterThanOrEqual(0);
      expect(waited_ms).toBeLessThanOrEqual(Math.min(max, base * 2 ** (attempt - 2)));
      // The attempt row is written after the attempt ends, so the measured gap can only be a little short.
      expect(Number(gap_ms)).toBeGreaterThanOrEqual(waited_ms - 25);
    }
  }, 120_000);
});

describe('a provider that hangs, is down, or is slow', () => {
  const policy = {
    databasePoolSize: 2,
    providerTimeoutMs: 300,
    providerBudgetMs: 700,
    requestBudgetMs: 1_200,
    providerRetryBaseMs: 20,
    providerRetryMaxMs: 100,
    breakerConsecutiveFailures: 5,
    breakerHalfOpenAfterMs: 400,
  };

  /** A stack of its own per test: a breaker opened by one test must not decide the next. */
  async function withStack(overrides: Parameters<typeof startStack>[0], test: (stack: Stack, key: string) => Promise<void>): Promise<void> {
    const stack = await startStack({ ...policy, ...overrides });
    try {
      await resetStack(stack);
      await test(stack, (await createMerchant(stack)).test_key);
    } finally {
      await stack.close();
    }
  }

  it('hangs: the API answers 202 inside its budget, and with 2 DB connections and 20 hanging calls a list still answers', () =>
    withStack({ bulkheadLimit: 40, bulkheadQueue: 40 }, async (stack, key) => {
      await sandboxConfig(stack, { timeout_rate: 1 });
      const started = performance.now();
      const hanging = Array.from({ length: 20 }, () => post(stack, key).then((res) => ({ res, ms: performance.now() - started })));
      await sleep(150);
      const list = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key });
      expect(list.status).toBe(200);
      const done = await Promise.all(hanging);
      for (const { res, ms } of done) {
        expect(res.status).toBe(202);
        expect(ms).toBeLessThan(stack.config.requestBudgetMs);
      }
    }));

  it('down: the breaker opens after its threshold, refuses at once with nothing sent, and closes through the half-open probe', () =>
    withStack({}, async (stack, key) => {
      await sandboxConfig(stack, { error_rate: 1, error_statuses: [503] });
      // 5 consecutive failed attempts open it: the first call makes 3, the second at least 2.
      expect((await post(stack, key)).status).toBe(202);
      expect([202, 503]).toContain((await post(stack, key)).status);
      const before = await sandboxRequests(stack);
      const [{ n: paymentsBefore }] = await stack.db.query(`SELECT count(*)::int AS n FROM payments`);
      const started = performance.now();
      const refused = await post(stack, key);
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('provider-unavailable');
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(performance.now() - started).toBeLessThan(200);
      expect(await sandboxRequests(stack)).toBe(before);
      const [{ n: paymentsAfter }] = await stack.db.query(`SELECT count(*)::int AS n FROM payments`);
      expect(paymentsAfter).toBe(paymentsBefore);

      await sandboxConfig(stack, { error_rate: 0 });
      await sleep(450);
      const probe = await post(stack, key);
      expect(probe.status).toBe(201);
      expect((await post(stack, key)).status).toBe(201);
    }));

  it('slow with the bulkhead full: the excess gets 503 with Retry-After at once, and GETs are not held up', () =>
    // One merchant sends them all: its share of the bulkhead is lifted here and tested on its own.
    withStack({ bulkheadLimit: 2, bulkheadQueue: 1, bulkheadMerchantShare: 1, providerTimeoutMs: 3_000, providerBudgetMs: 3_000, requestBudgetMs: 4_000 }, async (stack, key) => {
      await sandboxConfig(stack, { latency_ms: 800 });
      const answers = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const t = performance.now();
          const res = await post(stack, key);
          return { res, ms: performance.now() - t };
        }),
      );
      const overloaded = answers.filter((a) => a.res.status === 503);
      expect(answers.filter((a) => a.res.status === 201)).toHaveLength(3);
      expect(overloaded).toHaveLength(3);
      for (const { res, ms } of overloaded) {
        expect(res.body.code).toBe('provider-overloaded');
        expect(res.headers.get('retry-after')).toBe('1');
        expect(ms).toBeLessThan(500);
      }
      const slowDuring = post(stack, key);
      const started = performance.now();
      const list = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key });
      expect(list.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(500);
      await slowDuring;
    }));
});

describe('unknown outcomes and the kill switch', () => {
  let stack: Stack;
  beforeAll(async () => {
    // These tests fail calls on purpose; the breaker (tested above) would open and blur what they test.
    stack = await startStack({
      providerTimeoutMs: 300,
      providerBudgetMs: 700,
      requestBudgetMs: 1_200,
      providerRetryBaseMs: 20,
      providerRetryMaxMs: 100,
      reconcileBaseMs: 10,
      breakerConsecutiveFailures: 1_000,
      breakerMinimumCalls: 10_000,
      breakerWindowSize: 10_000,
    });
  });
  afterAll(() => stack.close());

  it('charge-then-fail: 202, then the reconciler settles it as succeeded with exactly one charge', async () => {
    await resetStack(stack);
    const merchant = await createMerchant(stack);
    await sandboxConfig(stack, { charge_then_fail_rate: 1, charge_then_fail_mode: 'error' });
    const res = await post(stack, merchant.test_key);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('processing');
    await sandboxConfig(stack, { charge_then_fail_rate: 0 });

    await sleep(20);
    expect(await stack.app.get(PaymentReconciler).runOnce()).toBe(1);
    const settled = await call(stack.baseUrl, 'GET', `/v1/payments/${res.body.id}`, undefined, { key: merchant.test_key });
    expect(settled.body.status).toBe('succeeded');
    expect(stack.sandbox.executions.get(`${res.body.id}:charge`)).toBe(1);
    const transitions: { from_status: string; to_status: string; reason: string }[] = await stack.db.query(
      'SELECT from_status, to_status, reason FROM payment_transitions ORDER BY id',
    );
    expect(transitions.map((t) => `${t.from_status}→${t.to_status}`)).toEqual(['pending→processing', 'processing→succeeded']);
    expect(transitions[1].reason).toBe('reconciled with the provider');
    // A second run, or a late answer, changes nothing.
    await stack.db.query(`UPDATE payments SET next_reconcile_at = now()`);
    expect(await stack.app.get(PaymentReconciler).runOnce()).toBe(0);
  });

  it('a key never executed is charged by the reconciler with the same provider key', async () => {
    await resetStack(stack);
    const merchant = await createMerchant(stack);
    await sandboxConfig(stack, { timeout_rate: 1 });
    const res = await post(stack, merchant.test_key);
    expect(res.status).toBe(202);
    await sandboxConfig(stack, { timeout_rate: 0 });
    await sleep(20);
    expect(stack.sandbox.executions.get(`${res.body.id}:charge`) ?? 0).toBe(0);
    expect(await stack.app.get(PaymentReconciler).runOnce()).toBe(1);
    expect(stack.sandbox.executions.get(`${res.body.id}:charge`)).toBe(1);
  });

  it('kill switch: new payments get 503 provider-disabled with nothing stored or sent, reconciliation goes on', async () => {
    await resetStack(stack);
    const merchant = await createMerchant(stack);
    await sandboxConfig(stack, { charge_then_fail_rate: 1, charge_then_fail_mode: 'error' });
    const pending = await post(stack, merchant.test_key);
    expect(pending.status).toBe(202);
    await sandboxConfig(stack, { charge_then_fail_rate: 0 });
    await setProviderEnabled(stack, 'sandbox', false, 'incident 42');
    try {
      const before = await sandboxRequests(stack);
      const refused = await post(stack, merchant.test_key);
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('provider-disabled');
      expect(refused.headers.get('retry-after')).toBeTruthy();
      expect(await sandboxRequests(stack)).toBe(before);
      expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(1);

      await sleep(20);
      expect(await stack.app.get(PaymentReconciler).runOnce()).toBe(1);
    } finally {
      await setProviderEnabled(stack, 'sandbox', true, null);
    }
    expect((await post(stack, merchant.test_key)).status).toBe(201);
  });
});
