import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { Idempay } from '../../sdk/src/index.js';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { createMerchant, resetStack, type Stack, startStack } from '../support/harness.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

const visa = { amount: 5000, currency: 'eur', payment_method: 'pm_card_visa' };

let stack: Stack;
let proxy: FaultProxy;
let merchant: CreatedMerchant;

const sdk = () => new Idempay({ apiKey: merchant.test_key, baseUrl: proxy.url, retryBaseDelayMs: 10, retryMaxDelayMs: 2000 });

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

it('events: list with filters, retrieve, and a redelivery whose answer was lost is retried with its key and done once', async () => {
  const payment = await sdk().payments.create(visa);
  const list = await sdk().events.list({ payment: payment.id, type: 'payment.succeeded' });
  expect(list.data).toHaveLength(1);
  const [event] = list.data;
  expect(event).toMatchObject({ object: 'event', type: 'payment.succeeded', sequence: 1, data: { object: { id: payment.id } } });
  expect(await sdk().events.retrieve(event.id)).toMatchObject({ id: event.id, lastResponse: { status: 200 } });

  const endpoint = await createEndpoint(stack.db, merchant.merchant_id, 'https://example.org/hooks');
  proxy.script({ kind: 'forward-then-503', retryAfter: 1 });
  const redelivery = await sdk().events.redeliver(event.id);
  expect(redelivery).toMatchObject({ object: 'event_redelivery', event: event.id, lastResponse: { status: 202, replayed: true, attempts: 2 } });
  expect(redelivery.deliveries.map((d) => d.endpoint)).toEqual([endpoint.id]);
  const keys = proxy.log.filter((entry) => entry.headers['idempotency-key']).map((entry) => entry.headers['idempotency-key']);
  expect(keys.slice(-2)[0]).toBe(keys.slice(-1)[0]);
  expect(await stack.db.query(`SELECT count(*)::int AS n FROM webhook_deliveries`)).toEqual([{ n: 1 }]);
});
