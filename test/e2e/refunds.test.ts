import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { Completer } from '../../src/idempotency/completer.js';
import { refundKeyOf } from '../../src/refunds/refund.js';
import { RefundReconciler } from '../../src/refunds/refund-reconciler.js';
import { type ApiResponse, call, createMerchant, resetStack, SHORT_LEASE, sleep, type Stack, startStack, visa } from '../support/harness.js';

const LEASE_MS = SHORT_LEASE.idempotencyLeaseMs;

let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await startStack({
    // A short lease (so a test can wait one out for the completer) needs short budgets inside it.
    ...SHORT_LEASE,
    providerTimeoutMs: 200,
    providerRetryBaseMs: 10,
    // Refunds that went unknown are due for reconciliation almost at once, so a test need not wait.
    reconcileBaseMs: 10,
    // The fault tests fail many provider calls on purpose; an open breaker would leak into the next test.
    breakerConsecutiveFailures: 10_000,
    breakerWindowSize: 10_000,
    breakerMinimumCalls: 10_000,
    // The concurrency tests send many refunds of one merchant at once: its bulkhead share is tested elsewhere.
    bulkheadMerchantShare: 1,
  }, { live: true });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

async function pay(body: unknown = visa, key = merchant.test_key): Promise<string> {
  const res = await call(stack.baseUrl, 'POST', '/v1/payments', body, { key, idempotencyKey: randomUUID() });
  expect(res.status).toBe(201);
  return res.body.id;
}

const refund = (paymentId: string, body: unknown = {}, idempotencyKey = randomUUID(), key = merchant.test_key) =>
  call(stack.baseUrl, 'POST', `/v1/payments/${paymentId}/refunds`, body, { key, idempotencyKey });
const get = (path: string, key = merchant.test_key) => call(stack.baseUrl, 'GET', path, undefined, { key });
const amountRefunded = async (paymentId: string): Promise<number> => (await get(`/v1/payments/${paymentId}`)).body.amount_refunded;
const executions = (refundId: string) => stack.sandbox.executions.get(refundKeyOf(refundId)) ?? 0;
const refundRequests = () => stack.sandbox.requests.get('POST /v1/refunds');

async function events(): Promise<{ type: string; payment_id: string; refund_id: string }[]> {
  return stack.db.query(`SELECT type, payment_id, refund_id FROM events WHERE type LIKE 'refund.%' ORDER BY created_at, sequence`);
}

/** Makes a `processing` refund due now, and checks it was scheduled for reconciliation at all. */
async function dueNow(refundId: string): Promise<void> {
  const rows: unknown[] = await stack.db.query(
    `WITH due AS (UPDATE refunds SET next_reconcile_at = now() WHERE id = $1 AND status = 'processing' AND next_reconcile_at IS NOT NULL RETURNING id)
     SELECT id FROM due`,
    [refundId],
  );
  expect(rows).toHaveLength(1);
}

describe('POST /v1/payments/{id}/refunds', () => {
  it('refunds part, then by default all that is left, keeping amount_refunded and the provider in step', async () => {
    const paymentId = await pay();
    const partial = await refund(paymentId, { amount: 1500, reason: 'requested_by_customer', metadata: { ticket: '8812' } });
    expect(partial.status).toBe(201);
    expect(partial.body).toEqual({
      id: expect.stringMatching(/^re_[0-9A-Z]{26}$/),
      object: 'refund',
      payment: paymentId,
      amount: 1500,
      currency: 'eur',
      status: 'succeeded',
      reason: 'requested_by_customer',
      metadata: { ticket: '8812' },
      failure_code: null,
      failure_message: null,
      operation_id: expect.any(String),
      livemode: false,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(partial.headers.get('location')).toBe(`/v1/payments/${paymentId}/refunds/${partial.body.id}`);
    expect((await get(partial.headers.get('location')!)).body).toEqual(partial.body);
    expect(await amountRefunded(paymentId)).toBe(1500);

    const rest = await refund(paymentId, {});
    expect(rest.status).toBe(201);
    expect(rest.body).toMatchObject({ amount: 3500, status: 'succeeded', reason: null, metadata: {} });
    expect(await amountRefunded(paymentId)).toBe(5000);

    expect(executions(partial.body.id)).toBe(1);
    expect(executions(rest.body.id)).toBe(1);
    expect([...stack.sandbox.charges.values()].map((c) => c.refunded)).toEqual([5000]);
    expect(await events()).toEqual([
      { type: 'refund.succeeded', payment_id: paymentId, refund_id: partial.body.id },
      { type: 'refund.succeeded', payment_id: paymentId, refund_id: rest.body.id },
    ]);

    const nothingLeft = await refund(paymentId, {});
    expect(nothingLeft.status).toBe(400);
    expect(nothingLeft.body).toMatchObject({ code: 'refund-exceeds-payment', errors: [{ field: 'amount', message: 'nothing is left to refund' }] });
  });

  it('refuses more than is left with 400 naming amount, reserving nothing and sending nothing to the provider; that is the key\'s answer', async () => {
    const paymentId = await pay();
    await refund(paymentId, { amount: 4000 });
    const key = randomUUID();
    const over = await refund(paymentId, { amount: 1001 }, key);
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ code: 'refund-exceeds-payment', errors: [{ field: 'amount', message: 'must be at most 1000' }] });
    expect(refundRequests()).toBe(1);
    expect(await amountRefunded(paymentId)).toBe(4000);
    expect(await stack.db.query('SELECT id FROM refunds')).toHaveLength(1);

    const replay = await refund(paymentId, { amount: 1001 }, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(over.text);
  });

  it('refuses a payment that did not succeed with 400 payment-not-refundable', async () => {
    const declined = await pay({ ...visa, payment_method: 'pm_card_declined' });
    const res = await refund(declined, { amount: 100 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('payment-not-refundable');
    expect(refundRequests()).toBe(0);
    expect(await stack.db.query('SELECT id FROM refunds')).toEqual([]);
  });

  it('replays byte for byte with Idempotent-Replayed and refunds once; the key with another body or payment is 422', async () => {
    const paymentId = await pay();
    const key = randomUUID();
    const first = await refund(paymentId, { amount: 1000 }, key);
    const replay = await refund(paymentId, { amount: 1000 }, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);
    expect(executions(first.body.id)).toBe(1);
    expect(await amountRefunded(paymentId)).toBe(1000);

    const otherAmount = await refund(paymentId, { amount: 999 }, key);
    expect(otherAmount.status).toBe(422);
    expect(otherAmount.body.errors).toEqual([expect.objectContaining({ field: 'amount' })]);
    const otherPayment = await refund(await pay(), { amount: 1000 }, key);
    expect(otherPayment.status).toBe(422);
    expect(otherPayment.body.errors).toEqual([expect.objectContaining({ field: 'path' })]);
    expect(await amountRefunded(paymentId)).toBe(1000);
  });

  it('after the key\'s answer was swept, the same request finds its refund and a different one is still 422', async () => {
    const paymentId = await pay();
    const key = randomUUID();
    const first = await refund(paymentId, {}, key);
    await stack.db.query('DELETE FROM idempotency_keys');

    // Nothing is left to refund, so answering with the refund proves it was found, not made again.
    const again = await refund(paymentId, {}, key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    await stack.db.query('DELETE FROM idempotency_keys');
    const different = await refund(paymentId, { reason: 'duplicate' }, key);
    expect(different.status).toBe(422);
    expect(different.body.errors).toEqual([expect.objectContaining({ field: 'reason' })]);
    expect(executions(first.body.id)).toBe(1);
    expect(await stack.db.query('SELECT id FROM refunds')).toHaveLength(1);
  });

  it('answers 404 for another merchant\'s payment, or one of the other mode, and refunds nothing', async () => {
    const other = await createMerchant(stack, 'Other');
    const theirs = await pay(visa, other.test_key);
    const live = await pay(visa, merchant.live_key);
    for (const paymentId of [theirs, live, 'pay_missing']) {
      const res = await refund(paymentId, { amount: 100 });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('resource-not-found');
      expect((await get(`/v1/payments/${paymentId}/refunds`)).status).toBe(404);
    }
    const theirRefund = await refund(theirs, { amount: 100 }, randomUUID(), other.test_key);
    expect((await get(`/v1/payments/${theirs}/refunds/${theirRefund.body.id}`)).status).toBe(404);
    expect(refundRequests()).toBe(1);
  });

  it('keeps an empty metadata value as sent', async () => {
    const res = await refund(await pay(), { amount: 100, metadata: { ticket: '' } });
    expect(res.status).toBe(201);
    expect(res.body.metadata).toEqual({ ticket: '' });
  });

  it.each([
    [{ amount: 0 }, 'amount'],
    [{ amount: 12.5 }, 'amount'],
    [{ amount: null }, 'amount'],
    [{ amount: 100_000_000 }, 'amount'],
    [{ reason: 'changed_mind' }, 'reason'],
    [{ metadata: { k: 1 } }, 'metadata'],
    [{ currency: 'usd' }, 'currency'],
  ])('refuses %j with 400 naming %s and stores nothing', async (body, field) => {
    const paymentId = await pay();
    const res = await refund(paymentId, body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await stack.db.query(`SELECT key FROM idempotency_keys WHERE route LIKE '%refunds'`)).toEqual([]);
  });
});

describe('GET /v1/payments/{id}/refunds', () => {
  it('lists the payment\'s refunds newest first and pages with limit and starting_after', async () => {
    const paymentId = await pay();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await refund(paymentId, { amount: 100 + i })).body.id);
    await refund(await pay(), { amount: 100 });

    const first = await get(`/v1/payments/${paymentId}/refunds?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'list', url: `/v1/payments/${paymentId}/refunds`, has_more: true });
    expect(first.body.data.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const second = await get(`/v1/payments/${paymentId}/refunds?limit=2&starting_after=${ids[1]}`);
    expect(second.body.data.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    expect(second.body.has_more).toBe(false);
    expect((await get(`/v1/payments/${paymentId}/refunds?starting_after=${paymentId}`)).status).toBe(400);
  });
});

describe('refunds under concurrency', () => {
  it('20 concurrent refunds adding up to more than the payment: the accepted never exceed it, each executed once', async () => {
    const paymentId = await pay({ ...visa, amount: 10_000 });
    const amounts = Array.from({ length: 20 }, (_, i) => 300 + i * 50);
    const answers: ApiResponse[] = await Promise.all(amounts.map((amount) => refund(paymentId, { amount })));

    const accepted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    const acceptedSum = accepted.reduce((sum, a) => sum + a.body.amount, 0);
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(acceptedSum).toBeLessThanOrEqual(10_000);
    expect(accepted.every((a) => a.body.status === 'succeeded')).toBe(true);
    // What is left only shrinks, so each refusal must be larger than what is left at the end.
    for (const r of refused) {
      expect(r.body.code).toBe('refund-exceeds-payment');
      expect(amounts[answers.indexOf(r)]).toBeGreaterThan(10_000 - acceptedSum);
    }

    expect(await amountRefunded(paymentId)).toBe(acceptedSum);
    const succeeded: { sum: string }[] = await stack.db.query(`SELECT coalesce(sum(amount), 0) AS sum FROM refunds WHERE status = 'succeeded'`);
    expect(Number(succeeded[0].sum)).toBe(acceptedSum);
    for (const a of accepted) expect(executions(a.body.id)).toBe(1);
    expect(refundRequests()).toBe(accepted.length);
    expect([...stack.sandbox.charges.values()].map((c) => c.refunded)).toEqual([acceptedSum]);
  });
});

describe('when the provider\'s answer is lost or refused', () => {
  it('an executed refund whose answer is lost is 202 processing; the reconciler settles it with one execution', async () => {
    const paymentId = await pay();
    stack.sandbox.configure({ chargeThenFailRate: 1 });
    const key = randomUUID();
    const res = await refund(paymentId, { amount: 2000 }, key);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('processing');
    expect(res.headers.get('location')).toBe(`/v1/payments/${paymentId}/refunds/${res.body.id}`);
    expect(await amountRefunded(paymentId)).toBe(2000);
    const replay = await refund(paymentId, { amount: 2000 }, key);
    expect(replay.status).toBe(202);
    expect(replay.text).toBe(res.text);

    const reconciler = stack.app.get(RefundReconciler);
    await dueNow(res.body.id);
    // Still failing: the refund stays processing and is asked about again later, not settled by guess.
    expect(await reconciler.runOnce()).toBe(0);
    const waiting: { status: string; reconcile_attempts: number; due_later: boolean }[] = await stack.db.query(
      `SELECT status, reconcile_attempts, next_reconcile_at > now() AS due_later FROM refunds WHERE id = $1`,
      [res.body.id],
    );
    expect(waiting).toEqual([{ status: 'processing', reconcile_attempts: 1, due_later: true }]);

    stack.sandbox.configure({ chargeThenFailRate: 0 });
    await dueNow(res.body.id);
    expect(await reconciler.runOnce()).toBe(1);
    expect((await get(`/v1/payments/${paymentId}/refunds/${res.body.id}`)).body.status).toBe('succeeded');
    expect(await reconciler.runOnce()).toBe(0);
    expect(executions(res.body.id)).toBe(1);
    expect(await amountRefunded(paymentId)).toBe(2000);
    expect((await events()).map((e) => e.type)).toEqual(['refund.processing', 'refund.succeeded']);
  });

  it('a refund that never reached the provider is sent again by the reconciler under the same key', async () => {
    const paymentId = await pay();
    stack.sandbox.configure({ timeoutRate: 1 });
    const res = await refund(paymentId, { amount: 700 });
    expect(res.status).toBe(202);
    expect(executions(res.body.id)).toBe(0);

    stack.sandbox.configure({ timeoutRate: 0 });
    await dueNow(res.body.id);
    expect(await stack.app.get(RefundReconciler).runOnce()).toBe(1);
    expect((await get(`/v1/payments/${paymentId}/refunds/${res.body.id}`)).body.status).toBe('succeeded');
    expect(executions(res.body.id)).toBe(1);
    const lookups: { operation: string; outcome: string }[] = await stack.db.query(
      `SELECT operation, outcome FROM provider_attempts WHERE refund_id = $1 AND outcome <> 'transient' ORDER BY id`,
      [res.body.id],
    );
    expect(lookups).toEqual([
      { operation: 'find_refund', outcome: 'not_found' },
      { operation: 'refund', outcome: 'succeeded' },
    ]);
  });

  it('a refund the provider refuses is 201 failed and gives its amount back to the payment', async () => {
    const paymentId = await pay();
    // The provider's own books say the charge is already refunded, so it refuses this one.
    for (const charge of stack.sandbox.charges.values()) charge.refunded = charge.amount;
    const res = await refund(paymentId, { amount: 1200 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'failed', failure_code: 'amount_too_large', failure_message: expect.any(String) });
    expect(await amountRefunded(paymentId)).toBe(0);
    expect((await events()).map((e) => e.type)).toEqual(['refund.failed']);
  });

  it('a refund the provider refused with 429s (503, nothing refunded) leaves nothing the completer could carry out; the retry refunds once', async () => {
    const paymentId = await pay();
    stack.sandbox.configure({ rateLimitRate: 1, retryAfterS: 0 });
    const key = randomUUID();
    const res = await refund(paymentId, { amount: 900 }, key);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('provider-unavailable');
    // Told nothing was refunded: the refund, its reservation and the claim went in one transaction.
    expect(await stack.db.query('SELECT id FROM refunds')).toEqual([]);
    expect(await amountRefunded(paymentId)).toBe(0);
    expect(await stack.db.query('SELECT id FROM idempotency_keys WHERE key = $1', [key])).toEqual([]);
    // The calls that were made stay on record.
    const refused: { outcome: string; http_status: number }[] = await stack.db.query(`SELECT outcome, http_status FROM provider_attempts WHERE operation = 'refund'`);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.outcome === 'transient' && a.http_status === 429)).toBe(true);

    stack.sandbox.configure({ rateLimitRate: 0 });
    await sleep(LEASE_MS + 100);
    expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 0, finished: 0 });
    expect(stack.sandbox.requests.get('POST /v1/refunds')).toBe(refused.length);
    expect([...stack.sandbox.executions.keys()].filter((k) => k.endsWith(':refund'))).toEqual([]);

    const retry = await refund(paymentId, { amount: 900 }, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.body.status).toBe('succeeded');
    expect(executions(retry.body.id)).toBe(1);
    expect(await amountRefunded(paymentId)).toBe(900);
  });
});
