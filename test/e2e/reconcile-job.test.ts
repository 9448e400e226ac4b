import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';

const policy = {
  providerTimeoutMs: 300,
  providerBudgetMs: 700,
  requestBudgetMs: 1_200,
  providerRetryBaseMs: 20,
  providerRetryMaxMs: 100,
  reconcileBaseMs: 500,
  breakerConsecutiveFailures: 1_000,
  breakerMinimumCalls: 10_000,
  breakerWindowSize: 10_000,
};

describe('the reconciler as a pg-boss job on two instances', () => {
  let first: Stack;
  let second: Stack;
  beforeAll(async () => {
    first = await startStack({ ...policy, jobsEnabled: true });
    second = await startStack({ ...policy, jobsEnabled: true, sandboxUrl: first.sandboxUrl });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('settles processing payments with no test driving it, each payment once', async () => {
    await resetStack(first);
    const merchant = await createMerchant(first);
    await call(first.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call((i % 2 ? second : first).baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() }),
      ),
    );
    expect(created.map((c) => c.status)).toEqual(Array(6).fill(202));
    await call(first.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });

    // Both instances poll the same stately queue; whichever runs it, every payment settles once.
    const deadline = Date.now() + 20_000;
    let processing = created.length;
    while (processing > 0 && Date.now() < deadline) {
      await sleep(250);
      [{ n: processing }] = await first.db.query(`SELECT count(*)::int AS n FROM payments WHERE status = 'processing'`);
    }
    expect(processing).toBe(0);
    for (const { body } of created) {
      expect(first.sandbox.executions.get(`${body.id}:charge`)).toBe(1);
      const transitions: { to_status: string }[] = await first.db.query('SELECT to_status FROM payment_transitions WHERE payment_id = $1 ORDER BY id', [body.id]);
      expect(transitions.map((t) => t.to_status)).toEqual(['processing', 'succeeded']);
    }
  }, 40_000);
});

describe('Retry-After from the provider', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ ...policy, providerBudgetMs: 2_500, requestBudgetMs: 3_000 });
  });
  afterAll(() => stack.close());

  it('is waited when it fits in the budget, and ends the call when it does not: nothing sent then, 503', async () => {
    await resetStack(stack);
    const merchant = await createMerchant(stack);
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { rate_limit_rate: 1, retry_after_s: 1 }, { spec: false });
    const limited = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    // Two 1 s waits fit in 2.5 s: three attempts; a 429 is known not to have executed, so then a 503.
    expect(limited.status).toBe(503);
    expect(limited.body.code).toBe('provider-unavailable');
    const attempts: { attempt: number; waited_ms: number; http_status: number }[] = await stack.db.query(
      `SELECT attempt, waited_ms, http_status FROM provider_attempts ORDER BY attempt`,
    );
    expect(attempts.map((a) => a.http_status)).toEqual([429, 429, 429]);
    expect(attempts[1].waited_ms).toBeGreaterThanOrEqual(1_000);
    expect(attempts[2].waited_ms).toBeGreaterThanOrEqual(1_000);
    expect(stack.sandbox.executions.size).toBe(0);

    // A Retry-After longer than the budget left ends the call after one attempt.
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { retry_after_s: 5 }, { spec: false });
    await stack.db.query('TRUNCATE provider_attempts');
    await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(await stack.db.query('SELECT attempt FROM provider_attempts')).toEqual([{ attempt: 1 }]);
  });
});
