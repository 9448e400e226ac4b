import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { AppConfig } from '../../src/config/app-config.js';
import { Completer } from '../../src/idempotency/completer.js';
import { PaymentReconciler } from '../../src/payments/payment-reconciler.js';
import { call, chargesFor, createMerchant, resetStack, setProviderEnabled, SHORT_LEASE, sleep, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

/**
 * "An answer that says nothing was done leaves nothing behind": each refusal below answers 503,
 * leaves no claim, no payment and nothing a background task could carry out — the sandbox still
 * shows no execution for the key after the lease has passed and the completer and reconciler ran —
 * and a retry with the same key, once the cause is gone, is charged exactly once.
 */
const LEASE_MS = SHORT_LEASE.idempotencyLeaseMs;
const policy = {
  ...SHORT_LEASE,
  providerTimeoutMs: 300,
  providerRetryBaseMs: 10,
  providerRetryMaxMs: 50,
  breakerConsecutiveFailures: 1_000,
  breakerMinimumCalls: 10_000,
  breakerWindowSize: 10_000,
};

async function withStack(overrides: Partial<AppConfig>, test: (stack: Stack, merchant: CreatedMerchant) => Promise<void>, options = { live: false }): Promise<void> {
  const stack = await startStack({ ...policy, ...overrides }, options);
  try {
    await resetStack(stack);
    await test(stack, await createMerchant(stack));
  } finally {
    await stack.close();
  }
}

const create = (stack: Stack, apiKey: string, idempotencyKey: string) => call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: apiKey, idempotencyKey });

async function rows(stack: Stack, idempotencyKey: string) {
  const [counts] = await stack.db.query(
    `SELECT (SELECT count(*) FROM idempotency_keys WHERE key = $1)::int AS keys,
            (SELECT count(*) FROM payments WHERE operation_id = $1)::int AS payments,
            (SELECT count(*) FROM refunds WHERE operation_id = $1)::int AS refunds`,
    [idempotencyKey],
  );
  return counts;
}

/** The refused request left nothing, and nothing acts on it after the lease, the completer and the reconciler. */
async function expectNothingLeft(stack: Stack, res: Awaited<ReturnType<typeof call>>, idempotencyKey: string, code: string): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.body.code).toBe(code);
  expect(res.headers.get('retry-after')).toMatch(/^[0-9]+$/);
  const executedBefore = totalCharges(stack);
  expect(await rows(stack, idempotencyKey)).toEqual({ keys: 0, payments: 0, refunds: 0 });
  await sleep(LEASE_MS + 100);
  expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 0, finished: 0 });
  await stack.app.get(PaymentReconciler).runOnce();
  expect(await rows(stack, idempotencyKey)).toEqual({ keys: 0, payments: 0, refunds: 0 });
  expect(totalCharges(stack)).toBe(executedBefore);
}

/** The retry with the same key, the cause gone: a fresh request, charged once. */
async function expectRetryChargedOnce(stack: Stack, apiKey: string, idempotencyKey: string): Promise<void> {
  const executedBefore = totalCharges(stack);
  const retry = await create(stack, apiKey, idempotencyKey);
  expect(retry.status).toBe(201);
  expect(retry.headers.get('idempotent-replayed')).toBeNull();
  expect(chargesFor(stack, retry.body.id)).toBe(1);
  expect(totalCharges(stack)).toBe(executedBefore + 1);
}

describe('refusals of a create leave nothing behind', () => {
  it('the kill switch: 503 provider-disabled; nothing runs later; the retry after it is back on charges once', () =>
    withStack({}, async (stack, merchant) => {
      await setProviderEnabled(stack, 'sandbox', false, 'incident 42');
      const key = randomUUID();
      await expectNothingLeft(stack, await create(stack, merchant.test_key, key), key, 'provider-disabled');
      expect(stack.sandbox.requests.get('POST /v1/charges')).toBe(0);
      await setProviderEnabled(stack, 'sandbox', true, null);
      await expectRetryChargedOnce(stack, merchant.test_key, key);
    }));

  it('an open breaker: 503 provider-unavailable before anything is stored; the retry through the probe charges once', () =>
    withStack({ breakerConsecutiveFailures: 2, breakerHalfOpenAfterMs: 2_500 }, async (stack, merchant) => {
      stack.sandbox.configure({ errorRate: 1, errorStatuses: [503] });
      expect((await create(stack, merchant.test_key, randomUUID())).status).toBe(202);
      const requests = stack.sandbox.requests.get('POST /v1/charges');
      const key = randomUUID();
      await expectNothingLeft(stack, await create(stack, merchant.test_key, key), key, 'provider-unavailable');
      expect(stack.sandbox.requests.get('POST /v1/charges')).toBe(requests);
      stack.sandbox.configure({ errorRate: 0 });
      await sleep(1_500);
      await expectRetryChargedOnce(stack, merchant.test_key, key);
    }));

  it('a full bulkhead: 503 provider-overloaded at once; the retry once it drained charges once', () =>
    withStack({ bulkheadLimit: 1, bulkheadQueue: 0, bulkheadMerchantShare: 1, providerTimeoutMs: 800 }, async (stack, merchant) => {
      stack.sandbox.configure({ latencyMs: 600 });
      const slow = create(stack, merchant.test_key, randomUUID());
      await sleep(150);
      const key = randomUUID();
      const refused = await create(stack, merchant.test_key, key);
      expect((await slow).status).toBe(201);
      stack.sandbox.configure({ latencyMs: 0 });
      await expectNothingLeft(stack, refused, key, 'provider-overloaded');
      await expectRetryChargedOnce(stack, merchant.test_key, key);
    }));

  it('a merchant at its share of the bulkhead: 503 for it alone, another merchant still charges', () =>
    withStack({ bulkheadLimit: 2, bulkheadQueue: 0, bulkheadMerchantShare: 0.5, providerTimeoutMs: 800 }, async (stack, merchant) => {
      const other = await createMerchant(stack, 'Other shop');
      stack.sandbox.configure({ latencyMs: 600 });
      const slow = create(stack, merchant.test_key, randomUUID());
      await sleep(150);
      const key = randomUUID();
      const [refused, others] = await Promise.all([create(stack, merchant.test_key, key), create(stack, other.test_key, randomUUID())]);
      expect(others.status).toBe(201);
      expect((await slow).status).toBe(201);
      stack.sandbox.configure({ latencyMs: 0 });
      await expectNothingLeft(stack, refused, key, 'provider-overloaded');
      await expectRetryChargedOnce(stack, merchant.test_key, key);
    }));

  it('429s on every attempt (refused after the payment was stored): the payment goes with the claim, the attempts stay on record', () =>
    withStack({}, async (stack, merchant) => {
      stack.sandbox.configure({ rateLimitRate: 1, retryAfterS: 0 });
      const key = randomUUID();
      const refused = await create(stack, merchant.test_key, key);
      const attempts: { payment_id: string; http_status: number }[] = await stack.db.query(`SELECT payment_id, http_status FROM provider_attempts WHERE operation = 'charge'`);
      expect(attempts.length).toBe(3);
      expect(attempts.every((a) => a.http_status === 429)).toBe(true);
      await expectNothingLeft(stack, refused, key, 'provider-unavailable');
      expect(await stack.db.query('SELECT id FROM payments WHERE id = $1', [attempts[0].payment_id])).toEqual([]);
      stack.sandbox.configure({ rateLimitRate: 0 });
      await expectRetryChargedOnce(stack, merchant.test_key, key);
    }));

  it('a refund refused by the kill switch: no refund, no reservation, no claim; the retry refunds once', () =>
    withStack({}, async (stack, merchant) => {
      const payment = await create(stack, merchant.test_key, randomUUID());
      await setProviderEnabled(stack, 'sandbox', false, null);
      const key = randomUUID();
      const refund = () => call(stack.baseUrl, 'POST', `/v1/payments/${payment.body.id}/refunds`, { amount: 700 }, { key: merchant.test_key, idempotencyKey: key });
      const refused = await refund();
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('provider-disabled');
      expect(await rows(stack, key)).toEqual({ keys: 0, payments: 0, refunds: 0 });
      expect((await stack.db.query('SELECT amount_refunded::int AS n FROM payments'))[0].n).toBe(0);
      await sleep(LEASE_MS + 100);
      expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 0, finished: 0 });
      await setProviderEnabled(stack, 'sandbox', true, null);
      const retry = await refund();
      expect(retry.status).toBe(201);
      expect(stack.sandbox.executions.get(`${retry.body.id}:refund`)).toBe(1);
    }));
});

describe('live mode', () => {
  it('without a live provider: 503 live-mode-not-configured, nothing stored, the sandbox never asked', () =>
    withStack({}, async (stack, merchant) => {
      const key = randomUUID();
      await expectNothingLeft(stack, await create(stack, merchant.live_key, key), key, 'live-mode-not-configured');
      const total = [...stack.sandbox.requests.values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(0);
    }));

  it('charges through its own provider only, never the sandbox', () =>
    withStack(
      {},
      async (stack, merchant) => {
        const res = await create(stack, merchant.live_key, randomUUID());
        expect(res.status).toBe(201);
        expect(res.body.livemode).toBe(true);
        expect(stack.live!.state.executions.get(`${res.body.id}:charge`)).toBe(1);
        expect(stack.sandbox.executions.size).toBe(0);
        expect(await stack.db.query('SELECT provider FROM provider_attempts')).toEqual([{ provider: 'provider' }]);
      },
      { live: true },
    ));

  it('is not refused when test mode\'s breaker is open or its bulkhead full', () =>
    withStack(
      { breakerConsecutiveFailures: 2, breakerHalfOpenAfterMs: 60_000, bulkheadLimit: 1, bulkheadQueue: 0, bulkheadMerchantShare: 1, providerTimeoutMs: 800 },
      async (stack, merchant) => {
        stack.sandbox.configure({ errorRate: 1, errorStatuses: [503] });
        expect((await create(stack, merchant.test_key, randomUUID())).status).toBe(202);
        expect((await create(stack, merchant.test_key, randomUUID())).body.code).toBe('provider-unavailable');
        expect((await create(stack, merchant.live_key, randomUUID())).status).toBe(201);

        stack.live!.state.configure({ latencyMs: 600 });
        const slowLive = create(stack, merchant.live_key, randomUUID());
        await sleep(150);
        expect((await create(stack, merchant.live_key, randomUUID())).body.code).toBe('provider-overloaded');
        expect((await create(stack, merchant.test_key, randomUUID())).body.code).toBe('provider-unavailable');
        expect((await slowLive).status).toBe(201);
      },
      { live: true },
    ));

  it('a server whose live provider is the sandbox refuses to start', async () => {
    const stack = await startStack(policy);
    try {
      await expect(createApp(new AppConfig({ ...stack.config, providerUrl: `${stack.sandboxUrl}/` }))).rejects.toThrow(/live payments must never be charged through the sandbox/);
    } finally {
      await stack.close();
    }
  });
});
