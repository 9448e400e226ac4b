import { randomBytes, randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { Tracing } from '../../src/observability/tracing.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { mulberry32 } from '../../src/sandbox-provider/random.js';
import { DeliveryWorker } from '../../src/webhooks/outbound/delivery-worker.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const exporter = new InMemorySpanExporter();
let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await startStack({ providerRetryBaseMs: 5, providerRetryMaxMs: 10, webhookAllowedHosts: ['127.0.0.1'] }, { spanExporter: exporter });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
  exporter.reset();
});
afterEach(() => stack.sandbox.configure({ errorRate: 0 }));

/** The spans exported so far, of one trace. */
async function spansOf(traceId: string): Promise<ReadableSpan[]> {
  await stack.app.get(Tracing).forceFlush();
  return exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
}

const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((span) => span.parentSpanContext?.spanId === idOf(parent));
const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);

/** A sandbox seed whose first provider request fails (HTTP 5xx, not executed) and whose second goes through, at an error rate of ½. */
function seedFailingOnce(): number {
  for (let seed = 1; ; seed++) {
    const draw = mulberry32(seed);
    const first = draw();
    draw(); // the first request's latency
    if (first < 0.5 && draw() >= 0.5) return seed;
  }
}

describe('spans, exported to an in-memory exporter', () => {
  it('one create: the request span → its phases (claim, charge, outcome) → each provider attempt, a retry included, one trace whose id is the Trace-Id', async () => {
    stack.sandbox.configure({ errorRate: 0.5, seed: seedFailingOnce() });
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(created.status).toBe(201);
    const traceId = String(created.headers.get('trace-id'));
    const spans = await spansOf(traceId);
    expect(exporter.getFinishedSpans().filter((span) => span.spanContext().traceId !== traceId)).toEqual([]);

    const [request] = named(spans, 'POST /v1/payments');
    expect(request).toMatchObject({ kind: SpanKind.SERVER, parentSpanContext: undefined });
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/payments',
      'http.response.status_code': 201,
      'idempay.merchant_id': merchant.merchant_id,
      'idempay.mode': 'test',
      'idempay.idempotency_outcome': 'claimed',
    });
    expect(childrenOf(spans, request).map((span) => span.name)).toEqual(['payment.claim', 'payment.charge', 'payment.store_outcome']);

    const [charge] = named(spans, 'payment.charge');
    const attempts = childrenOf(spans, charge);
    expect(attempts.map((span) => [span.name, span.attributes['idempay.attempt'], span.status.code])).toEqual([
      ['provider.attempt', 1, SpanStatusCode.ERROR],
      ['provider.attempt', 2, SpanStatusCode.UNSET],
    ]);
    expect(attempts[0].attributes).toMatchObject({ 'idempay.provider': 'sandbox', 'idempay.operation': 'charge' });
    // Each attempt's traceparent is the one the provider received.
    expect(stack.sandbox.traceparents.get(chargeKeyOf(created.body.id))).toEqual(attempts.map((span) => `00-${traceId}-${idOf(span)}-01`));
    expect(spans).toHaveLength(6);
  });

  it("continues the caller's trace under its span, and a job (the delivery of the create's event) joins it under the phase that wrote the event", async () => {
    const receiver = await WebhookReceiver.start();
    try {
      await createEndpoint(stack.db, merchant.merchant_id, receiver.url);
      const traceId = randomBytes(16).toString('hex');
      const callerSpan = randomBytes(8).toString('hex');
      const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, {
        key: merchant.test_key,
        idempotencyKey: randomUUID(),
        headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
      });
      expect(created.headers.get('trace-id')).toBe(traceId);
      for (let i = 0; receiver.received.length === 0 && i < 200; i++) {
        await stack.app.get(DeliveryWorker).runOnce();
        await sleep(5);
      }
      expect(receiver.received).toHaveLength(1);

      const spans = await spansOf(traceId);
      const [request] = named(spans, 'POST /v1/payments');
      expect(request.parentSpanContext).toMatchObject({ traceId, spanId: callerSpan, isRemote: true });
      const [outcome] = named(spans, 'payment.store_outcome');
      const [delivery] = named(spans, 'webhook.deliver');
      expect(delivery).toMatchObject({ kind: SpanKind.CONSUMER, parentSpanContext: expect.objectContaining({ spanId: idOf(outcome) }) });
      expect(receiver.received[0].headers.traceparent).toBe(`00-${traceId}-${idOf(delivery)}-01`);
    } finally {
      await receiver.close();
    }
  });
});
