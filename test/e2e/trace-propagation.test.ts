import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { Completer } from '../../src/idempotency/completer.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { PaymentReconciler } from '../../src/payments/payment-reconciler.js';
import { refundKeyOf } from '../../src/refunds/refund.js';
import { InboxProcessor } from '../../src/webhooks/inbound/inbox-processor.js';
import { DeliveryWorker } from '../../src/webhooks/outbound/delivery-worker.js';
import { CapturedLog } from '../support/captured-log.js';
import { startChildServer } from '../support/child-server.js';
import { type ApiResponse, call, createMerchant, resetStack, SHORT_LEASE, SHORT_LEASE_ENV, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { eventBody, newEventId, newSecret, postEvent, signedHeaders } from '../support/provider-events.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const providerSecret = newSecret();
const log = new CapturedLog();
let stack: Stack;
let merchant: CreatedMerchant;
let receiver: WebhookReceiver;

beforeAll(async () => {
  // A short lease, so the completer may take a dead process's key over within the test.
  stack = await startStack(
    { ...SHORT_LEASE, providerTimeoutMs: 200, logLevel: 'debug', sandboxWebhookSecrets: [providerSecret], webhookAllowedHosts: ['127.0.0.1'] },
    { logStream: log },
  );
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
  receiver = await WebhookReceiver.start();
  await createEndpoint(stack.db, merchant.merchant_id, receiver.url);
});
afterEach(() => receiver.close());

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A traceparent of this trace, from some span of the caller's, sampled. */
const traceparentIn = (traceId: string) => `00-${traceId}-${hex(8)}-01`;
/** Any traceparent of this trace, sampled unless said otherwise: the span id is the sender's own. */
const ofTrace = (traceId: string, flags = '01') => new RegExp(`^00-${traceId}-[0-9a-f]{16}-${flags}$`);
const spanIdOf = (traceparent: string) => traceparent.split('-')[2];

function create(headers: Record<string, string> = {}, key = randomUUID()): Promise<ApiResponse> {
  return call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key, headers });
}

async function deliverAll(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (receiver.received.length < count) {
    if (Date.now() > deadline) throw new Error(`${receiver.received.length} of ${count} webhooks delivered`);
    await stack.app.get(DeliveryWorker).runOnce();
    await sleep(5);
  }
}

/** What the sandbox heard about a key: the traceparent of each request. */
const heard = (key: string) => stack.sandbox.traceparents.get(key) ?? [];

/** The lines a component logged about `subject`. */
const linesOf = (context: string, subject: string) => log.entries().filter((e) => e.context === context && String(e.msg).includes(subject));

describe('a traceparent sent in', () => {
  it("reaches the request's log line, its Trace-Id, the provider call and the merchant webhook it causes, with spans of ours as parents", async () => {
    const traceId = hex(16);
    const sent = traceparentIn(traceId);
    const created = await create({ traceparent: sent });
    expect(created.status).toBe(201);
    expect(created.headers.get('trace-id')).toBe(traceId);
    expect(log.requestLines(traceId)).toEqual([expect.objectContaining({ route: '/v1/payments', status: 201, idempotency_outcome: 'claimed' })]);

    const [toProvider] = heard(chargeKeyOf(created.body.id));
    expect(toProvider).toMatch(ofTrace(traceId));
    expect(spanIdOf(toProvider)).not.toBe(spanIdOf(sent));

    await deliverAll(1);
    const delivered = String(receiver.received[0].headers.traceparent);
    expect(delivered).toMatch(ofTrace(traceId));
    expect(spanIdOf(delivered)).not.toBe(spanIdOf(toProvider));
    // The delivery job's own line carries the create's trace id too.
    expect(linesOf('DeliveryWorker', JSON.parse(receiver.received[0].body).id)).toEqual([expect.objectContaining({ trace_id: traceId })]);
  });

  it('without one, or with an invalid one, the request gets a new trace id, which its calls carry; a refund carries its own', async () => {
    const plain = await create();
    const invalid = await create({ traceparent: `00-${'0'.repeat(32)}-${hex(8)}-01` });
    for (const res of [plain, invalid]) {
      const traceId = String(res.headers.get('trace-id'));
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(traceId).not.toBe('0'.repeat(32));
      // Not recorded here, and no caller's decision to pass on: not sampled.
      expect(heard(chargeKeyOf(res.body.id))).toEqual([expect.stringMatching(ofTrace(traceId, '00'))]);
      expect(log.requestLines(traceId)).toHaveLength(1);
    }

    const refundTrace = hex(16);
    const refund = await call(stack.baseUrl, 'POST', `/v1/payments/${plain.body.id}/refunds`, { amount: 100 }, {
      key: merchant.test_key,
      idempotencyKey: randomUUID(),
      headers: { traceparent: traceparentIn(refundTrace) },
    });
    expect(refund.status).toBe(201);
    expect(heard(refundKeyOf(refund.body.id))).toEqual([expect.stringMatching(ofTrace(refundTrace))]);
  });
});

describe('a job carries the trace of the request that caused it', () => {
  it('the reconciler settling a payment whose outcome was unknown asks the provider in the trace of the create', async () => {
    const traceId = hex(16);
    stack.sandbox.configure({ timeoutRate: 1 });
    const created = await create({ traceparent: traceparentIn(traceId) });
    expect(created.status).toBe(202);
    stack.sandbox.configure({ timeoutRate: 0 });
    const attemptsOfCreate = heard(chargeKeyOf(created.body.id)).length;
    expect(attemptsOfCreate).toBeGreaterThan(0);

    await stack.db.query(`UPDATE payments SET next_reconcile_at = now() WHERE id = $1`, [created.body.id]);
    expect(await stack.app.get(PaymentReconciler).runOnce()).toBe(1);
    // Its lookup, then its charge (the sandbox never executed the first).
    const ofReconciler = heard(chargeKeyOf(created.body.id)).slice(attemptsOfCreate);
    expect(ofReconciler).toEqual([expect.stringMatching(ofTrace(traceId)), expect.stringMatching(ofTrace(traceId))]);
    expect(linesOf('PaymentReconciler', created.body.id)).toEqual([expect.objectContaining({ trace_id: traceId, msg: expect.stringContaining('settled as succeeded') })]);

    await deliverAll(2); // payment.processing, then payment.succeeded
    expect(receiver.received.map((r) => r.headers.traceparent)).toEqual([expect.stringMatching(ofTrace(traceId)), expect.stringMatching(ofTrace(traceId))]);
  });

  it("the inbox applies a provider webhook in the webhook request's trace, and the event it writes is delivered in it", async () => {
    stack.sandbox.configure({ timeoutRate: 1 });
    const created = await create();
    expect(created.status).toBe(202);
    stack.sandbox.configure({ timeoutRate: 0 });

    const webhookTrace = hex(16);
    const id = newEventId();
    const body = eventBody(id, 'charge.succeeded', { id: 'ch_sbx_1', object: 'charge', status: 'succeeded' }, chargeKeyOf(created.body.id));
    const received = await postEvent(stack.baseUrl, body, { ...signedHeaders(providerSecret, id, body), 'content-type': 'application/json', traceparent: traceparentIn(webhookTrace) });
    expect(received.status).toBe(200);
    expect(received.headers.get('trace-id')).toBe(webhookTrace);
    expect(await stack.app.get(InboxProcessor).runDue()).toBe(1);
    expect(linesOf('InboxProcessor', id)).toEqual([expect.objectContaining({ trace_id: webhookTrace, msg: expect.stringContaining('moved to succeeded') })]);

    await deliverAll(2);
    const byType = Object.fromEntries(receiver.received.map((r) => [JSON.parse(r.body).type, String(r.headers.traceparent)]));
    expect(byType['payment.processing']).toMatch(ofTrace(String(created.headers.get('trace-id')), '00'));
    expect(byType['payment.succeeded']).toMatch(ofTrace(webhookTrace));
  });

  it('the completer resuming the key of a process that died after charging asks the provider, and logs, in the trace of the request', async () => {
    const child = await startChildServer({ DATABASE_URL: stack.config.databaseUrl!, SANDBOX_URL: stack.sandboxUrl, IDEMPAY_CRASH_AT: 'provider_called', ...SHORT_LEASE_ENV, PROVIDER_TIMEOUT_MS: '200' });
    const traceId = hex(16);
    const key = randomUUID();
    await expect(call(child.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key, headers: { traceparent: traceparentIn(traceId) } })).rejects.toThrow();
    expect(await child.exited).toBe('SIGKILL');
    const [{ id: paymentId, traceparent }] = await stack.db.query(`SELECT id, traceparent FROM payments WHERE operation_id = $1`, [key]);
    expect(traceparent).toMatch(ofTrace(traceId));

    await sleep(SHORT_LEASE.idempotencyLeaseMs + 100);
    expect(await stack.app.get(Completer).runOnce()).toEqual({ released: 0, finished: 1 });
    // The dead process's charge, then the completer's lookup, which found it.
    expect(heard(chargeKeyOf(paymentId))).toEqual([expect.stringMatching(ofTrace(traceId)), expect.stringMatching(ofTrace(traceId))]);
    const [{ id: keyId }] = await stack.db.query(`SELECT id::text FROM idempotency_keys WHERE key = $1`, [key]);
    expect(linesOf('Completer', `key ${keyId} `)).toEqual([expect.objectContaining({ trace_id: traceId, msg: expect.stringContaining('finished with 201') })]);
  });
});
