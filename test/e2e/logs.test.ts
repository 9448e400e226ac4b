import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { loadConfig } from '../../src/config/app-config.js';
import { createLogger } from '../../src/observability/logger.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { InboxProcessor } from '../../src/webhooks/inbound/inbox-processor.js';
import { DeliveryWorker } from '../../src/webhooks/outbound/delivery-worker.js';
import { CapturedLog } from '../support/captured-log.js';
import { type ApiResponse, call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { eventFor, newSecret, postEvent, signedHeaders } from '../support/provider-events.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const providerSecret = newSecret();
const log = new CapturedLog();
let stack: Stack;
let merchant: CreatedMerchant;
let receiver: WebhookReceiver;

beforeAll(async () => {
  stack = await startStack({ logLevel: 'trace', sandboxWebhookSecrets: [providerSecret], webhookAllowedHosts: ['127.0.0.1'] }, { logStream: log });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
  receiver = await WebhookReceiver.start();
});
afterEach(() => receiver.close());

const traceOf = (res: ApiResponse) => String(res.headers.get('trace-id'));
const pay = (key: string, body: unknown = visa) => call(stack.baseUrl, 'POST', '/v1/payments', body, { key: merchant.test_key, idempotencyKey: key });

async function deliverAll(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (receiver.received.length < count) {
    if (Date.now() > deadline) throw new Error(`${receiver.received.length} of ${count} webhooks delivered`);
    await stack.app.get(DeliveryWorker).runOnce();
    await sleep(5);
  }
}

describe('the log of a full run, at LOG_LEVEL=trace', () => {
  it('holds one line per request with its trace id, merchant, mode, route, status, latency and idempotency outcome, and no secret', async () => {
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, receiver.url);
    const key = randomUUID();
    const created = await pay(key);
    expect(created.status).toBe(201);
    const replayed = await pay(key);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const reused = await pay(key, { ...visa, amount: 4000 });
    expect(reused.status).toBe(422);

    // A second create still at the provider when its key comes again: 409.
    stack.sandbox.latencyMs = 300;
    const slowKey = randomUUID();
    const slow = pay(slowKey);
    await sleep(100);
    const inUse = await pay(slowKey);
    expect(inUse.status).toBe(409);
    expect((await slow).status).toBe(201);
    stack.sandbox.latencyMs = 0;

    const refund = await call(stack.baseUrl, 'POST', `/v1/payments/${created.body.id}/refunds`, { amount: 100 }, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(refund.status).toBe(201);
    // A key pasted into a path is scrubbed from the line's URL.
    const keyInPath = await call(stack.baseUrl, 'GET', `/v1/payments/${merchant.test_key}`, undefined, { key: merchant.test_key });
    expect(keyInPath.status).toBe(404);

    const event = await eventFor(stack, chargeKeyOf(created.body.id));
    const signed = signedHeaders(providerSecret, event.id, event.body);
    const webhook = await postEvent(stack.baseUrl, event.body, { ...signed, 'content-type': 'application/json' });
    expect(webhook.status).toBe(200);
    expect(await stack.app.get(InboxProcessor).runDue()).toBe(1);
    await deliverAll(3); // payment.succeeded twice, refund.succeeded
    expect(receiver.received.map((r) => JSON.parse(r.body).type).sort()).toEqual(['payment.succeeded', 'payment.succeeded', 'refund.succeeded']);

    const base = { merchant_id: merchant.merchant_id, mode: 'test', method: 'POST', route: '/v1/payments', url: '/v1/payments', latency_ms: expect.any(Number) };
    const expected: [ApiResponse, Record<string, unknown>][] = [
      [created, { ...base, status: 201, idempotency_outcome: 'claimed' }],
      [replayed, { ...base, status: 201, idempotency_outcome: 'replayed' }],
      [reused, { ...base, status: 422, idempotency_outcome: 'reused' }],
      [inUse, { ...base, status: 409, idempotency_outcome: 'in-use' }],
      [refund, { ...base, route: '/v1/payments/:id/refunds', url: `/v1/payments/${created.body.id}/refunds`, status: 201, idempotency_outcome: 'claimed' }],
      [keyInPath, { ...base, method: 'GET', route: '/v1/payments/:id', url: '/v1/payments/sk_test_[redacted]', status: 404 }],
      [webhook, { method: 'POST', route: '/provider-webhooks/:provider', url: '/provider-webhooks/sandbox', status: 200 }],
    ];
    for (const [res, fields] of expected) {
      const lines = log.requestLines(traceOf(res));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 30, trace_id: traceOf(res), ...fields });
    }
    expect(log.requestLines(traceOf(webhook))[0]).not.toHaveProperty('merchant_id');
    expect(log.requestLines(traceOf(keyInPath))[0]).not.toHaveProperty('idempotency_outcome');

    const text = log.text;
    const secrets = [
      merchant.test_key,
      merchant.test_key.slice('sk_test_'.length),
      merchant.live_key.slice('sk_live_'.length),
      endpoint.secret.slice('whsec_'.length),
      providerSecret.slice('whsec_'.length),
      signed['webhook-signature'].slice('v1,'.length),
      ...receiver.received.flatMap((r) => String(r.headers['webhook-signature']).split(' ').map((s) => s.slice('v1,'.length))),
      'pm_card_visa',
    ];
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/authorization/i);
  });

  it("a job's lines carry the trace id of the request that caused it: the delivery of a create's event", async () => {
    await createEndpoint(stack.db, merchant.merchant_id, receiver.url);
    const created = await pay(randomUUID());
    await deliverAll(1);
    const deliveryLines = log.entries().filter((e) => e.context === 'DeliveryWorker' && String(e.msg).includes(String(JSON.parse(receiver.received[0].body).id)));
    expect(deliveryLines).toHaveLength(1);
    expect(deliveryLines[0]).toMatchObject({ level: 20, trace_id: traceOf(created) });
  });
});

describe('redaction by field', () => {
  it('an Authorization or signature header, a payment method or card, a secret logged as an object by mistake: replaced', () => {
    const out = new CapturedLog();
    const logger = createLogger(loadConfig({ LOG_LEVEL: 'info' }), { destination: out });
    logger.info({
      headers: { authorization: 'Bearer abc.def', 'webhook-signature': 'v1,c2lnbmF0dXJl' },
      payment_method: 'card_4242',
      card: { number: '4242424242424242', cvc: '123' },
      secret: 'hunter2-hunter2',
    }, 'oops');
    const [entry] = out.entries();
    expect(entry).toMatchObject({ headers: { authorization: '[redacted]', 'webhook-signature': '[redacted]' }, payment_method: '[redacted]', card: '[redacted]', secret: '[redacted]' });
    for (const value of ['abc.def', 'c2lnbmF0dXJl', 'card_4242', '4242424242424242', 'hunter2']) expect(out.text).not.toContain(value);
  });
});
