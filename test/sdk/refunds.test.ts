import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Idempay, IdempayError } from '../../sdk/src/index.js';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { refundKeyOf } from '../../src/refunds/refund.js';
import { createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let stack: Stack;
let proxy: FaultProxy;
let merchant: CreatedMerchant;

const sdk = () => new Idempay({ apiKey: merchant.test_key, baseUrl: proxy.url, retryBaseDelayMs: 10, retryMaxDelayMs: 2000 });

/** Refunds the sandbox really executed: one refund's, or all of them. */
const refundsAtSandbox = (refundId: string) => stack.sandbox.executions.get(refundKeyOf(refundId)) ?? 0;
const allRefundsAtSandbox = () => [...stack.sandbox.executions].filter(([key]) => key.endsWith(':refund')).reduce((sum, [, n]) => sum + n, 0);
const refundRequests = () => proxy.log.filter((entry) => entry.method === 'POST' && entry.path.endsWith('/refunds'));
const refundIdsFor = async (operationId: string): Promise<string[]> =>
  (await stack.db.query('SELECT id FROM refunds WHERE operation_id = $1', [operationId])).map((row: { id: string }) => row.id);

async function rejection(promise: Promise<unknown>): Promise<IdempayError> {
  const error = await promise.then(
    () => new Error('expected the call to fail'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(IdempayError);
  return error as IdempayError;
}

beforeAll(async () => {
  stack = await startStack();
  proxy = await startFaultProxy(stack.baseUrl);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.close();
});
beforeEach(async () => {
  await proxy.reset();
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

describe('idempay.refunds.create', () => {
  it('refunds part, then by default all that is left, each once at the sandbox', async () => {
    const idempay = sdk();
    const payment = await idempay.payments.create(visa);

    const partial = await idempay.refunds.create(payment.id, { amount: 1500, reason: 'requested_by_customer', metadata: { ticket: '8812' } });
    expect(partial).toMatchObject({
      object: 'refund',
      payment: payment.id,
      amount: 1500,
      currency: 'eur',
      status: 'succeeded',
      reason: 'requested_by_customer',
      metadata: { ticket: '8812' },
      failure_code: null,
    });
    expect(partial.lastResponse).toMatchObject({ status: 201, replayed: false, attempts: 1 });
    expect(partial.lastResponse.idempotencyKey).toMatch(UUID_V4);
    expect(partial.operation_id).toBe(partial.lastResponse.idempotencyKey);
    expect((await idempay.payments.retrieve(payment.id)).amount_refunded).toBe(1500);

    const rest = await idempay.refunds.create(payment.id);
    expect(refundRequests().at(-1)?.body).toBe('{}');
    expect(rest).toMatchObject({ amount: 3500, status: 'succeeded', reason: null, metadata: {} });
    expect(rest.lastResponse.idempotencyKey).not.toBe(partial.lastResponse.idempotencyKey);
    expect((await idempay.payments.retrieve(payment.id)).amount_refunded).toBe(5000);

    expect([refundsAtSandbox(partial.id), refundsAtSandbox(rest.id), allRefundsAtSandbox()]).toEqual([1, 1, 2]);
  });

  it('a refund whose answer was lost is retried with the same key: the replayed refund, one refund at the sandbox', async () => {
    const idempay = sdk();
    const payment = await idempay.payments.create(visa);
    proxy.script({ kind: 'forward-then-503' });

    const refund = await idempay.refunds.create(payment.id);

    const [first, retry] = refundRequests();
    expect(refundRequests()).toHaveLength(2);
    expect(first.fault).toBe('forward-then-503');
    expect(first.upstream?.status).toBe(201);
    expect(retry.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
    expect(refund.id).toBe(JSON.parse(first.upstream?.body ?? '{}').id);
    expect(refund).toMatchObject({ amount: 5000, status: 'succeeded', operation_id: first.headers['idempotency-key'] });
    expect(refund.lastResponse).toMatchObject({ status: 201, replayed: true, attempts: 2 });
    expect(refundsAtSandbox(refund.id)).toBe(1);
    expect(allRefundsAtSandbox()).toBe(1);
    expect(await refundIdsFor(refund.operation_id)).toEqual([refund.id]);
    expect((await idempay.payments.retrieve(payment.id)).amount_refunded).toBe(5000);
  });

  it('the caller key again gives back the same refund instead of a second one', async () => {
    const idempay = sdk();
    const payment = await idempay.payments.create(visa);

    const first = await idempay.refunds.create(payment.id, { amount: 1000 }, { idempotencyKey: 'refund-1042' });
    const again = await idempay.refunds.create(payment.id, { amount: 1000 }, { idempotencyKey: 'refund-1042' });

    expect(refundRequests().map((entry) => entry.headers['idempotency-key'])).toEqual(['refund-1042', 'refund-1042']);
    expect(again).toEqual(first);
    expect([first.lastResponse.replayed, again.lastResponse.replayed]).toEqual([false, true]);
    expect(first.operation_id).toBe('refund-1042');
    expect(allRefundsAtSandbox()).toBe(1);
    expect(await refundIdsFor('refund-1042')).toEqual([first.id]);
    expect((await idempay.payments.retrieve(payment.id)).amount_refunded).toBe(1000);
  });

  it('more than the payment: IdempayError 400 refund-exceeds-payment naming amount, not retried, nothing at the sandbox', async () => {
    const idempay = sdk();
    const payment = await idempay.payments.create(visa);

    const error = await rejection(idempay.refunds.create(payment.id, { amount: 5001 }));

    expect(error).toMatchObject({ status: 400, code: 'refund-exceeds-payment', attempts: 1 });
    expect(error.idempotencyKey).toBe(refundRequests()[0].headers['idempotency-key']);
    expect(error.problem?.errors?.map((e) => e.field)).toEqual(['amount']);
    expect(error.traceId).toBe(refundRequests()[0].upstream?.headers['trace-id']);
    expect(refundRequests()).toHaveLength(1);
    expect(stack.sandbox.requests.get('POST /v1/refunds')).toBe(0);
    expect((await idempay.payments.retrieve(payment.id)).amount_refunded).toBe(0);
  });

  it('a declined payment: IdempayError 400 payment-not-refundable', async () => {
    const idempay = sdk();
    const declined = await idempay.payments.create({ ...visa, payment_method: 'pm_card_declined' });
    expect(declined.status).toBe('failed');

    const error = await rejection(idempay.refunds.create(declined.id));

    expect(error).toMatchObject({ status: 400, code: 'payment-not-refundable', attempts: 1 });
    expect(stack.sandbox.requests.get('POST /v1/refunds')).toBe(0);
  });
});

describe('idempay.refunds.retrieve and list', () => {
  it('pages a payment\'s refunds newest first and reads one back, without an Idempotency-Key', async () => {
    const idempay = sdk();
    const payment = await idempay.payments.create(visa);
    const other = await idempay.payments.create(visa);
    const created = [];
    for (const ticket of ['1', '2', '3']) created.push(await idempay.refunds.create(payment.id, { amount: 1000, metadata: { ticket } }));
    await idempay.refunds.create(other.id, { amount: 700 });

    const page1 = await idempay.refunds.list(payment.id, { limit: 2 });
    expect(page1).toMatchObject({ object: 'list', url: `/v1/payments/${payment.id}/refunds`, has_more: true });
    expect(page1.data.map((r) => r.id)).toEqual([created[2].id, created[1].id]);
    expect(page1.lastResponse).toMatchObject({ status: 200, idempotencyKey: null });
    const page2 = await idempay.refunds.list(payment.id, { limit: 2, starting_after: page1.data[1].id });
    expect(proxy.log.at(-1)?.path).toBe(`/v1/payments/${payment.id}/refunds?limit=2&starting_after=${page1.data[1].id}`);
    expect(page2.data.map((r) => r.id)).toEqual([created[0].id]);
    expect(page2.has_more).toBe(false);
    expect((await idempay.refunds.list(payment.id)).data).toEqual([...created].reverse());

    const retrieved = await idempay.refunds.retrieve(payment.id, created[0].id);
    expect(retrieved).toEqual(created[0]);
    expect(proxy.log.at(-1)?.path).toBe(`/v1/payments/${payment.id}/refunds/${created[0].id}`);
    expect(retrieved.lastResponse).toMatchObject({ status: 200, idempotencyKey: null, replayed: false });
    expect(proxy.log.filter((entry) => entry.method === 'GET').every((entry) => entry.headers['idempotency-key'] === undefined)).toBe(true);
  });

  it('a refund asked for under another payment, or a payment that does not exist: IdempayError 404 resource-not-found', async () => {
    const idempay = sdk();
    const payment = await idempay.payments.create(visa);
    const other = await idempay.payments.create(visa);
    const refund = await idempay.refunds.create(payment.id, { amount: 100 });

    const misplaced = await rejection(idempay.refunds.retrieve(other.id, refund.id));
    expect(misplaced).toMatchObject({ status: 404, code: 'resource-not-found', attempts: 1, idempotencyKey: null });

    const unknown = await rejection(idempay.refunds.list('pay_0000000000000000000000000X'));
    expect(unknown).toMatchObject({ status: 404, code: 'resource-not-found', attempts: 1 });
  });
});
