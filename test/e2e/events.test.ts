import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { PaymentReconciler } from '../../src/payments/payment-reconciler.js';
import { call, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';

let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await startStack({ providerTimeoutMs: 300 });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

const post = (path: string, body: unknown, key = merchant.test_key) => call(stack.baseUrl, 'POST', path, body, { key, idempotencyKey: randomUUID() });
const get = (path: string, key = merchant.test_key) => call(stack.baseUrl, 'GET', path, undefined, { key });

/** The events of a payment, oldest first. */
async function eventsOf(paymentId: string) {
  const res = await get(`/v1/events?payment=${paymentId}&limit=100`);
  expect(res.status).toBe(200);
  return [...res.body.data].reverse();
}

describe('every change of a payment or a refund is an event carrying it as it was then', () => {
  it('created succeeded, refunded in part, then updated: one event each, in sequence, each data.object equal to the answer of its moment', async () => {
    const created = await post('/v1/payments', { ...visa, metadata: { '1042': 'order', a: 'b' } });
    expect(created.status).toBe(201);
    const refund = await post(`/v1/payments/${created.body.id}/refunds`, { amount: 1000 });
    expect(refund.status).toBe(201);
    const updated = await call(stack.baseUrl, 'PATCH', `/v1/payments/${created.body.id}`, { description: 'later' }, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(updated.status).toBe(200);

    const events = await eventsOf(created.body.id);
    expect(events.map((e) => [e.type, e.sequence])).toEqual([
      ['payment.succeeded', 1],
      ['refund.succeeded', 2],
      ['payment.updated', 3],
    ]);
    expect(events[0].data.object).toEqual(created.body);
    expect(events[1].data.object).toEqual(refund.body);
    expect(events[2].data.object).toEqual(updated.body);
    for (const event of events) {
      expect(event).toMatchObject({ object: 'event', livemode: false, id: expect.stringMatching(/^evt_/) });
      // One event's bytes are the same wherever it is read: the list, the event itself, every delivery.
      const one = await get(`/v1/events/${event.id}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual(event);
    }
    // data.object is the stored text itself: a metadata key such as "1042" keeps its place.
    const one = await get(`/v1/events/${events[0].id}`);
    expect(one.text).toContain(`"data":{"object":${created.text}}`);
  });

  it('a decline is payment.failed; a payment settled by the reconciler is payment.processing then payment.succeeded', async () => {
    const declined = await post('/v1/payments', { ...visa, payment_method: 'pm_card_declined' });
    expect((await eventsOf(declined.body.id)).map((e) => [e.type, e.data.object.status])).toEqual([['payment.failed', 'failed']]);

    stack.sandbox.latencyMs = 1_000;
    const slow = await post('/v1/payments', visa);
    expect(slow.status).toBe(202);
    stack.sandbox.latencyMs = 0;
    await stack.db.query(`UPDATE payments SET next_reconcile_at = now() WHERE id = $1`, [slow.body.id]);
    await stack.app.get(PaymentReconciler).runOnce();
    const settled = await get(`/v1/payments/${slow.body.id}`);
    expect(settled.body.status).toBe('succeeded');

    const events = await eventsOf(slow.body.id);
    expect(events.map((e) => [e.type, e.sequence])).toEqual([['payment.processing', 1], ['payment.succeeded', 2]]);
    expect(events[0].data.object).toEqual(slow.body);
    expect(events[1].data.object).toEqual(settled.body);
  });
});

describe('GET /v1/events', () => {
  it('lists newest first, filters by type and by payment, and pages with starting_after', async () => {
    const a = await post('/v1/payments', visa);
    const b = await post('/v1/payments', { ...visa, payment_method: 'pm_card_declined' });
    const c = await post('/v1/payments', visa);
    await post(`/v1/payments/${c.body.id}/refunds`, {});

    const all = await get('/v1/events');
    expect(all.body).toMatchObject({ object: 'list', url: '/v1/events', has_more: false });
    expect(all.body.data.map((e: { type: string }) => e.type)).toEqual(['refund.succeeded', 'payment.succeeded', 'payment.failed', 'payment.succeeded']);
    const ids = all.body.data.map((e: { id: string }) => e.id);
    expect([...ids].sort().reverse()).toEqual(ids);

    const succeeded = await get('/v1/events?type=payment.succeeded');
    expect(succeeded.body.data.map((e: { data: { object: { id: string } } }) => e.data.object.id)).toEqual([c.body.id, a.body.id]);
    const ofC = await get(`/v1/events?payment=${c.body.id}`);
    expect(ofC.body.data.map((e: { type: string }) => e.type)).toEqual(['refund.succeeded', 'payment.succeeded']);
    const failedOfA = await get(`/v1/events?payment=${a.body.id}&type=payment.failed`);
    expect(failedOfA.body.data).toEqual([]);
    expect((await get(`/v1/events?payment=${b.body.id}`)).body.data).toHaveLength(1);

    const first = await get('/v1/events?limit=3');
    expect(first.body.has_more).toBe(true);
    const rest = await get(`/v1/events?limit=3&starting_after=${first.body.data[2].id}`);
    expect(rest.body.has_more).toBe(false);
    expect([...first.body.data, ...rest.body.data].map((e: { id: string }) => e.id)).toEqual(ids);
  });

  it('refuses bad filters with a 400 naming the field', async () => {
    for (const query of ['type=payment.refunded', 'payment=re_1', 'starting_after=pay_1', 'limit=0', 'created=1']) {
      const res = await get(`/v1/events?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
  });

  it("another merchant's events, and the other mode's, are invisible: 404 and empty lists", async () => {
    const mine = await post('/v1/payments', visa);
    const [event] = (await get('/v1/events')).body.data;
    const other = await createMerchant(stack, 'Other');
    expect((await get(`/v1/events/${event.id}`, other.test_key)).status).toBe(404);
    expect((await get('/v1/events', other.test_key)).body.data).toEqual([]);
    expect((await get(`/v1/events/${event.id}`, merchant.live_key)).status).toBe(404);
    expect((await get(`/v1/events?payment=${mine.body.id}`, merchant.live_key)).body.data).toEqual([]);
    for (const id of ['evt_nope', 'pay_' + 'A'.repeat(26), '%00', `evt_${'0'.repeat(26)}`]) {
      const res = await get(`/v1/events/${id}`);
      expect(res.status, id).toBe(404);
      expect(res.body.code).toBe('resource-not-found');
    }
  });
});
