import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { DeliveryWorker } from '../../src/webhooks/outbound/delivery-worker.js';
import { OutboxRelay } from '../../src/webhooks/outbound/outbox-relay.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { addSecret, createEndpoint } from '../support/webhook-endpoints.js';
import { type ReceivedWebhook, type Responder, WebhookReceiver } from '../support/webhook-receiver.js';

const SCHEDULE = [50, 100, 150, 200, 250];
const ATTEMPT_TIMEOUT_MS = 400;

let stack: Stack;
let merchant: CreatedMerchant;
let worker: DeliveryWorker;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  stack = await startStack({
    webhookAllowedHosts: ['127.0.0.1'],
    webhookRetryScheduleMs: SCHEDULE,
    webhookAttemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
  });
  worker = stack.app.get(DeliveryWorker);
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(responder?: Responder) {
  const r = await WebhookReceiver.start(responder);
  receivers.push(r);
  return r;
}

const pay = (body: unknown = visa) => call(stack.baseUrl, 'POST', '/v1/payments', body, { key: merchant.test_key, idempotencyKey: randomUUID() });
const get = (path: string, key = merchant.test_key) => call(stack.baseUrl, 'GET', path, undefined, { key });

/** Runs the worker's passes, as its job would, until `done` holds. */
async function deliverUntil(done: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('not delivered in time');
    await worker.runOnce();
    await sleep(5);
  }
}

async function deliveryOf(endpointId: string, eventId?: string) {
  const res = await get(`/v1/webhook_endpoints/${endpointId}/deliveries?limit=100`);
  expect(res.status).toBe(200);
  return eventId ? res.body.data.find((d: { event: string }) => d.event === eventId) : res.body.data[0];
}

async function statusOf(endpointId: string) {
  const [row] = await stack.db.query(`SELECT status, disabled_reason, failing_since FROM webhook_endpoints WHERE id = $1`, [endpointId]);
  return row as { status: string; disabled_reason: string | null; failing_since: Date | null };
}

function verify(secret: string, request: ReceivedWebhook): unknown {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
}

describe('delivery, signed as Standard Webhooks', () => {
  it('every event reaches a subscribed endpoint, verified by the standardwebhooks library, with the bytes GET /v1/events/{id} answers', async () => {
    const hook = await receiver();
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    const paid = await pay();
    await call(stack.baseUrl, 'POST', `/v1/payments/${paid.body.id}/refunds`, { amount: 100 }, { key: merchant.test_key, idempotencyKey: randomUUID() });
    await pay({ ...visa, payment_method: 'pm_card_declined' });

    await deliverUntil(() => hook.received.length === 3);
    const events = (await get('/v1/events')).body.data.reverse();
    // Sent at once, so in any order: a receiver orders them by sequence.
    expect(hook.ids().sort()).toEqual(events.map((e: { id: string }) => e.id).sort());
    for (const request of hook.received) {
      expect(verify(endpoint.secret, request)).toEqual(JSON.parse(request.body));
      expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'idempay-webhooks/1' });
      expect(Number(request.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
      expect(request.body).toBe((await get(`/v1/events/${request.headers['webhook-id']}`)).text);
    }
    // Forged or altered: refused by the same library.
    const [first] = hook.received;
    expect(() => verify(endpoint.secret, { ...first, body: first.body.replace('"livemode":false', '"livemode":true') })).toThrow();
    expect(() => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, first)).toThrow();

    const delivery = await deliveryOf(endpoint.id, events[0].id);
    expect(delivery).toMatchObject({
      object: 'webhook_delivery',
      endpoint: endpoint.id,
      status: 'delivered',
      attempt_count: 1,
      next_attempt_at: null,
      last_http_status: 204,
      last_error: null,
      delivered_at: expect.any(String),
      attempts: [{ attempt: 1, http_status: 204, error: null, latency_ms: expect.any(Number), created_at: expect.any(String) }],
    });
  });

  it('through the endpoints API: during a rotation both secrets sign every delivery and each verifies; a disabled endpoint gets nothing', async () => {
    const hook = await receiver();
    const post = (path: string, body: unknown) => call(stack.baseUrl, 'POST', path, body, { key: merchant.test_key, idempotencyKey: randomUUID() });
    const created = await post('/v1/webhook_endpoints', { url: hook.url, enabled_events: ['*'] });
    expect(created.status).toBe(201);
    const rotated = await post(`/v1/webhook_endpoints/${created.body.id}/rotate_secret`, {});
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    await pay();
    await deliverUntil(() => hook.received.length === 1);
    const [request] = hook.received;
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(created.body.secret, request)).toBeTruthy();
    expect(verify(rotated.body.secret, request)).toBeTruthy();

    // An expired secret signs no more.
    const expired = await addSecret(stack.db, merchant.merchant_id, created.body.id, -1_000);
    const disabled = await call(stack.baseUrl, 'PATCH', `/v1/webhook_endpoints/${created.body.id}`, { disabled: true }, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(disabled.body.status).toBe('disabled');
    await pay();
    await worker.runOnce();
    expect(hook.received).toHaveLength(1);
    await call(stack.baseUrl, 'PATCH', `/v1/webhook_endpoints/${created.body.id}`, { disabled: false }, { key: merchant.test_key, idempotencyKey: randomUUID() });
    await pay();
    await deliverUntil(() => hook.received.length === 2);
    expect(String(hook.received[1].headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(() => verify(expired, hook.received[1])).toThrow();
  });

  it('only subscribed, enabled endpoints of the same merchant and mode get an event; an endpoint made later gets none of the earlier ones', async () => {
    const refundsOnly = await receiver();
    const live = await receiver();
    const others = await receiver();
    const disabled = await receiver();
    await createEndpoint(stack.db, merchant.merchant_id, refundsOnly.url, { events: ['refund.succeeded'] });
    await createEndpoint(stack.db, merchant.merchant_id, live.url, { mode: 'live' });
    const other = await createMerchant(stack, 'Other');
    await createEndpoint(stack.db, other.merchant_id, others.url);
    const off = await createEndpoint(stack.db, merchant.merchant_id, disabled.url);
    await stack.db.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'disabled_by_merchant' WHERE id = $1`, [off.id]);

    const paid = await pay();
    await call(stack.baseUrl, 'POST', `/v1/payments/${paid.body.id}/refunds`, {}, { key: merchant.test_key, idempotencyKey: randomUUID() });
    await deliverUntil(() => refundsOnly.received.length === 1);
    const late = await receiver();
    await createEndpoint(stack.db, merchant.merchant_id, late.url);
    await worker.runOnce();
    await sleep(100);
    await worker.runOnce();
    expect(JSON.parse(refundsOnly.received[0].body).type).toBe('refund.succeeded');
    expect([live, others, disabled, late].map((r) => r.received.length)).toEqual([0, 0, 0, 0]);
    const [{ unpublished }] = await stack.db.query(`SELECT count(*)::int AS unpublished FROM events WHERE published_at IS NULL`);
    expect(unpublished).toBe(0);
  });
});

describe('retries', () => {
  it('a receiver failing 5 times then answering 200: delivered at the 6th attempt, all 6 recorded, spaced by the schedule', async () => {
    const hook = await receiver((_, n) => ({ status: n < 5 ? 500 : 200 }));
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    const paid = await pay();
    await deliverUntil(() => hook.received.length === 6);
    await deliverUntil(async () => (await deliveryOf(endpoint.id)).status === 'delivered');

    expect(new Set(hook.ids())).toEqual(new Set([hook.ids()[0]]));
    const gaps = hook.received.slice(1).map((r, i) => r.at - hook.received[i].at);
    gaps.forEach((gap, i) => {
      expect(gap, `before attempt ${i + 2}`).toBeGreaterThanOrEqual(SCHEDULE[i] - 5);
      expect(gap, `before attempt ${i + 2}`).toBeLessThan(SCHEDULE[i] + 500);
    });
    const delivery = await deliveryOf(endpoint.id);
    expect(delivery).toMatchObject({ status: 'delivered', attempt_count: 6, last_http_status: 200, last_error: null });
    expect(delivery.attempts.map((a: { attempt: number; http_status: number; error: string | null }) => [a.attempt, a.http_status, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 500, 'HTTP 500'],
      [3, 500, 'HTTP 500'],
      [4, 500, 'HTTP 500'],
      [5, 500, 'HTTP 500'],
      [6, 200, null],
    ]);
    // The failures opened a streak on the endpoint; the success closed it.
    expect(await statusOf(endpoint.id)).toEqual({ status: 'enabled', disabled_reason: null, failing_since: null });
    expect(JSON.parse(hook.received[5].body).data.object.id).toBe(paid.body.id);
  });

  it('Retry-After asking for longer than the schedule is honoured, in seconds or as an HTTP date', async () => {
    const hook = await receiver((_, n) =>
      n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : n === 1 ? { status: 429, headers: { 'retry-after': new Date(Date.now() + 2_000).toUTCString() } } : { status: 200 },
    );
    await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    await pay();
    await deliverUntil(() => hook.received.length === 3);
    expect(hook.received[1].at - hook.received[0].at).toBeGreaterThanOrEqual(990);
    // An HTTP date has a resolution of a second.
    expect(hook.received[2].at - hook.received[1].at).toBeGreaterThanOrEqual(900);
  });

  it('410 Gone disables the endpoint and ends the delivery dead; later events are not queued for it', async () => {
    const hook = await receiver(() => ({ status: 410 }));
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    await pay();
    await deliverUntil(async () => (await deliveryOf(endpoint.id))?.status === 'dead');
    expect(await statusOf(endpoint.id)).toMatchObject({ status: 'disabled', disabled_reason: 'endpoint_gone' });
    expect((await deliveryOf(endpoint.id)).attempts).toEqual([expect.objectContaining({ attempt: 1, http_status: 410, error: 'HTTP 410' })]);

    await pay();
    await worker.runOnce();
    expect(hook.received).toHaveLength(1);
    expect((await get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`)).body.data.map((d: { status: string }) => d.status)).toEqual(['dead']);
  });

  it('a pending delivery whose endpoint was disabled waits, unsent, and goes once the endpoint is enabled again', async () => {
    const hook = await receiver();
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    await pay();
    await stack.app.get(OutboxRelay).runOnce();
    await stack.db.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'disabled_by_merchant' WHERE id = $1`, [endpoint.id]);
    await worker.runOnce();
    await sleep(50);
    await worker.runOnce();
    expect(hook.received).toEqual([]);
    expect(await deliveryOf(endpoint.id)).toMatchObject({ status: 'pending', attempt_count: 0, attempts: [] });

    await stack.db.query(`UPDATE webhook_endpoints SET status = 'enabled', disabled_reason = NULL WHERE id = $1`, [endpoint.id]);
    await deliverUntil(() => hook.received.length === 1);
  });

  it('an endpoint failing for longer than WEBHOOK_DISABLE_AFTER_MS is disabled', async () => {
    const hook = await receiver(() => ({ status: 500 }));
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    await pay();
    await deliverUntil(() => hook.received.length === 1);
    const streak = await statusOf(endpoint.id);
    expect(streak).toMatchObject({ status: 'enabled', failing_since: expect.any(Date) });
    await stack.db.query(`UPDATE webhook_endpoints SET failing_since = now() - make_interval(secs => $2::double precision / 1000 + 1) WHERE id = $1`, [
      endpoint.id,
      stack.config.webhookDisableAfterMs,
    ]);
    await deliverUntil(() => hook.received.length === 2);
    await deliverUntil(async () => (await statusOf(endpoint.id)).status === 'disabled');
    expect(await statusOf(endpoint.id)).toMatchObject({ disabled_reason: 'failing_too_long' });
  });

  it('exhausted → dead; POST /v1/events/{id}/redeliver brings it back with a fresh schedule and it is delivered', async () => {
    let failing = true;
    const hook = await receiver(() => ({ status: failing ? 500 : 200 }));
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    await pay();
    await deliverUntil(async () => (await deliveryOf(endpoint.id))?.status === 'dead');
    expect(hook.received).toHaveLength(SCHEDULE.length + 1);
    const dead = await deliveryOf(endpoint.id);
    expect(dead).toMatchObject({ status: 'dead', attempt_count: 6, next_attempt_at: null, last_http_status: 500, last_error: 'HTTP 500' });

    failing = false;
    const key = randomUUID();
    const redelivered = await call(stack.baseUrl, 'POST', `/v1/events/${dead.event}/redeliver`, {}, { key: merchant.test_key, idempotencyKey: key });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ object: 'event_redelivery', event: dead.event });
    expect(redelivered.body.deliveries).toEqual([expect.objectContaining({ id: dead.id, status: 'pending', attempt_count: 6, next_attempt_at: expect.any(String) })]);
    const replay = await call(stack.baseUrl, 'POST', `/v1/events/${dead.event}/redeliver`, {}, { key: merchant.test_key, idempotencyKey: key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(redelivered.text);

    await deliverUntil(() => hook.received.length === SCHEDULE.length + 2);
    await deliverUntil(async () => (await deliveryOf(endpoint.id)).status === 'delivered');
    const delivered = await deliveryOf(endpoint.id);
    expect(delivered).toMatchObject({ attempt_count: 7, last_http_status: 200 });
    expect(delivered.attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(hook.ids()).size).toBe(1);
  });

  it('redeliver to one named endpoint, and what it refuses: unknown event or endpoint 404, disabled or unsubscribed 400, bad body 400', async () => {
    const a = await receiver();
    const b = await receiver();
    const endpointA = await createEndpoint(stack.db, merchant.merchant_id, a.url);
    const endpointB = await createEndpoint(stack.db, merchant.merchant_id, b.url, { events: ['payment.succeeded'] });
    const refundsOnly = await createEndpoint(stack.db, merchant.merchant_id, b.url, { events: ['refund.failed'] });
    await pay();
    await deliverUntil(() => a.received.length === 1 && b.received.length === 1);
    const eventId = a.ids()[0];
    const redeliver = (body: unknown, id = eventId, key = merchant.test_key) =>
      call(stack.baseUrl, 'POST', `/v1/events/${id}/redeliver`, body, { key, idempotencyKey: randomUUID() });

    const one = await redeliver({ endpoint: endpointB.id });
    expect(one.status).toBe(202);
    expect(one.body.deliveries.map((d: { endpoint: string }) => d.endpoint)).toEqual([endpointB.id]);
    await deliverUntil(() => b.received.length === 2);
    await worker.runOnce();
    expect(a.received).toHaveLength(1);
    expect(b.ids()).toEqual([eventId, eventId]);

    expect((await redeliver({}, `evt_${'0'.repeat(26)}`)).status).toBe(404);
    expect((await redeliver({ endpoint: `we_${'0'.repeat(26)}` })).status).toBe(404);
    const other = await createMerchant(stack, 'Other');
    expect((await redeliver({}, eventId, other.test_key)).status).toBe(404);
    expect((await redeliver({ endpoint: refundsOnly.id })).body.code).toBe('webhook-endpoint-not-subscribed');
    await stack.db.query(`UPDATE webhook_endpoints SET status = 'disabled' WHERE id = $1`, [endpointA.id]);
    expect((await redeliver({ endpoint: endpointA.id })).body.code).toBe('webhook-endpoint-disabled');
    // Every enabled subscribed endpoint, the disabled one left out; no body at all means `{}`.
    expect((await redeliver({})).body.deliveries.map((d: { endpoint: string }) => d.endpoint)).toEqual([endpointB.id]);
    const bare = await redeliver(undefined);
    expect(bare.status).toBe(202);
    expect(bare.body.deliveries.map((d: { endpoint: string }) => d.endpoint)).toEqual([endpointB.id]);
    for (const body of [{ endpoint: 'x' }, { endpoints: [] }, { endpoint: null }]) {
      const res = await redeliver(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
  });
});

describe('what an attempt refuses to do', () => {
  it('a 302 to another URL is not followed: the other URL sees nothing and the attempt failed', async () => {
    const elsewhere = await receiver();
    const hook = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    await pay();
    await deliverUntil(() => hook.received.length === 2);
    expect(elsewhere.received).toEqual([]);
    const delivery = await deliveryOf(endpoint.id);
    expect(delivery.attempts[0]).toMatchObject({ http_status: 302, error: 'HTTP 302: redirects are not followed' });
    expect(delivery.status).toBe('pending');
  });

  it('an answer slower than the attempt timeout is a failed attempt, recorded with no status', async () => {
    const hook = await receiver((_, n) => (n === 0 ? { status: 200, delayMs: ATTEMPT_TIMEOUT_MS * 3 } : { status: 200 }));
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    await pay();
    await deliverUntil(async () => (await deliveryOf(endpoint.id))?.status === 'delivered');
    const delivery = await deliveryOf(endpoint.id);
    expect(delivery.attempts).toEqual([
      expect.objectContaining({ attempt: 1, http_status: null, error: `no answer within ${ATTEMPT_TIMEOUT_MS} ms` }),
      expect.objectContaining({ attempt: 2, http_status: 200, error: null }),
    ]);
    expect(delivery.attempts[0].latency_ms).toBeGreaterThanOrEqual(ATTEMPT_TIMEOUT_MS - 5);
    expect(delivery.attempts[0].latency_ms).toBeLessThan(ATTEMPT_TIMEOUT_MS + 300);
  });

  it('a host that does not resolve is a failed attempt naming why', async () => {
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, 'https://no-such-host.invalid/hooks');
    await pay();
    await deliverUntil(async () => (await deliveryOf(endpoint.id))?.attempts.length === 1);
    const [attempt] = (await deliveryOf(endpoint.id)).attempts;
    expect(attempt).toMatchObject({ http_status: null, error: expect.stringMatching(/ENOTFOUND|not|unsafe/i) });
  });
});

describe('GET /v1/webhook_endpoints/{id}/deliveries', () => {
  it('pages newest first; another merchant, the other mode or an unknown id is a 404', async () => {
    const hook = await receiver();
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    for (let i = 0; i < 3; i++) await pay();
    await deliverUntil(() => hook.received.length === 3);
    const first = await get(`/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=2`);
    expect(first.body).toMatchObject({ object: 'list', url: `/v1/webhook_endpoints/${endpoint.id}/deliveries`, has_more: true });
    const rest = await get(`/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=2&starting_after=${first.body.data[1].id}`);
    expect(rest.body.has_more).toBe(false);
    const page = [...first.body.data, ...rest.body.data];
    expect(page.map((d: { id: string }) => d.id)).toEqual(page.map((d: { id: string }) => d.id).sort().reverse());
    expect(page.map((d: { event: string }) => d.event).sort()).toEqual(hook.ids().sort());

    const other = await createMerchant(stack, 'Other');
    expect((await get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`, other.test_key)).status).toBe(404);
    expect((await get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`, merchant.live_key)).status).toBe(404);
    expect((await get(`/v1/webhook_endpoints/we_nope/deliveries`)).status).toBe(404);
    expect((await get(`/v1/webhook_endpoints/${endpoint.id}/deliveries?starting_after=evt_1`)).status).toBe(400);
  });
});
