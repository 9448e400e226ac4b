import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHECKOUT_ORDERS,
  CHECKOUT_WEBHOOK,
  CONTRACT_API_KEY,
  EXISTING_PAYMENT_ID,
  ID_PATTERN,
  pactFileOf,
  PROVIDER,
  settlePactFile,
  STATES,
  WEBHOOK_ENDPOINT_ID_PATTERN,
  WEBHOOK_SECRET_PATTERN,
} from './fixtures.js';
import { CheckoutClient, type Order } from './partner-checkout/checkout-client.js';

const { like, regex } = MatchersV3;

const CONSUMER = 'partner-checkout';

const DESCRIPTIONS = {
  paid: 'a checkout paying an order',
  declined: 'a checkout paying an order with a card that is declined',
  status: 'a checkout asking for the status of a payment',
  webhook: 'a checkout registering its webhook endpoint',
};

/*
 * One pact per version of the checkout. 1.0.0 is released and frozen: this test never rewrites it.
 * It still runs the checkout against the mock of each of its interactions and compares what it would
 * write with the frozen file, so a change of the checkout that needs more of idempay fails there
 * instead of being verified against a contract its released version never had. 1.1.0 needs more
 * (it registers a webhook endpoint): it is the new file, written by this test until it is released.
 */
const VERSIONS: { version: string; interactions: (keyof typeof DESCRIPTIONS)[] }[] = [
  { version: '1.0.0', interactions: ['paid', 'declined', 'status'] },
  { version: '1.1.0', interactions: ['paid', 'declined', 'status', 'webhook'] },
];

const workDir = mkdtempSync(join(tmpdir(), 'pact-partner-checkout-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function payRequest(order: Order) {
  return {
    headers: {
      Authorization: `Bearer ${CONTRACT_API_KEY}`,
      'Idempotency-Key': `checkout-order-${order.orderId}`,
      'Content-Type': 'application/json',
    },
    body: { amount: order.amount, currency: order.currency, payment_method: order.paymentMethod, metadata: { order_id: order.orderId } },
  };
}

const INTERACTIONS: Record<keyof typeof DESCRIPTIONS, (pact: PactV4) => Promise<unknown>> = {
  paid(pact) {
    const order = CHECKOUT_ORDERS.paid;
    const request = payRequest(order);
    return pact
      .addInteraction()
      .given(STATES.merchant)
      .uponReceiving(DESCRIPTIONS.paid)
      .withRequest('POST', '/v1/payments', (b) => b.headers(request.headers).jsonBody(request.body))
      .willRespondWith(201, (b) =>
        b.jsonBody({
          id: regex(ID_PATTERN, 'pay_01JD8X4Q5R2Z7K9M3N6P8T0V2A'),
          status: 'succeeded',
          amount: order.amount,
          currency: order.currency,
          failure_code: null,
        }),
      )
      .executeTest(async (server) => {
        const payment = await new CheckoutClient(server.url, CONTRACT_API_KEY).pay(order);
        expect(payment).toEqual({ id: 'pay_01JD8X4Q5R2Z7K9M3N6P8T0V2A', status: 'succeeded', amount: 2500, currency: 'usd', failureCode: null });
      });
  },

  declined(pact) {
    const order = CHECKOUT_ORDERS.declined;
    const request = payRequest(order);
    return pact
      .addInteraction()
      .given(STATES.merchant)
      .uponReceiving(DESCRIPTIONS.declined)
      .withRequest('POST', '/v1/payments', (b) => b.headers(request.headers).jsonBody(request.body))
      .willRespondWith(201, (b) =>
        b.jsonBody({
          id: regex(ID_PATTERN, 'pay_01JD8X4Q5R2Z7K9M3N6P8T0V2B'),
          status: 'failed',
          amount: order.amount,
          currency: order.currency,
          failure_code: like('card_declined'),
        }),
      )
      .executeTest(async (server) => {
        const payment = await new CheckoutClient(server.url, CONTRACT_API_KEY).pay(order);
        expect(payment).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
      });
  },

  status: (pact) =>
    pact
      .addInteraction()
      .given(STATES.payment)
      .uponReceiving(DESCRIPTIONS.status)
      .withRequest('GET', `/v1/payments/${EXISTING_PAYMENT_ID}`, (b) => b.headers({ Authorization: `Bearer ${CONTRACT_API_KEY}` }))
      .willRespondWith(200, (b) => b.jsonBody({ status: regex(/^(pending|processing|succeeded|failed)$/, 'succeeded') }))
      .executeTest(async (server) => {
        expect(await new CheckoutClient(server.url, CONTRACT_API_KEY).statusOf(EXISTING_PAYMENT_ID)).toBe('succeeded');
      }),

  webhook: (pact) =>
    pact
      .addInteraction()
      .given(STATES.merchant)
      .given(STATES.webhookHost)
      .uponReceiving(DESCRIPTIONS.webhook)
      .withRequest('POST', '/v1/webhook_endpoints', (b) =>
        b
          .headers({ Authorization: `Bearer ${CONTRACT_API_KEY}`, 'Idempotency-Key': CHECKOUT_WEBHOOK.idempotencyKey, 'Content-Type': 'application/json' })
          .jsonBody({ url: CHECKOUT_WEBHOOK.url, enabled_events: CHECKOUT_WEBHOOK.enabledEvents }),
      )
      .willRespondWith(201, (b) =>
        b.jsonBody({
          id: regex(WEBHOOK_ENDPOINT_ID_PATTERN, 'we_01JD8XB2C3D4E5F6G7H8J9K0M1'),
          url: CHECKOUT_WEBHOOK.url,
          status: 'enabled',
          secret: regex(WEBHOOK_SECRET_PATTERN, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
        }),
      )
      .executeTest(async (server) => {
        const webhook = await new CheckoutClient(server.url, CONTRACT_API_KEY).registerWebhook(
          CHECKOUT_WEBHOOK.url,
          CHECKOUT_WEBHOOK.enabledEvents,
          CHECKOUT_WEBHOOK.idempotencyKey,
        );
        expect(webhook).toEqual({ id: 'we_01JD8XB2C3D4E5F6G7H8J9K0M1', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
      }),
};

describe.each(VERSIONS)('partner-checkout $version, a consumer of idempay-api', ({ version, interactions }) => {
  const dir = join(workDir, version);
  const pact = new PactV4({ consumer: CONSUMER, provider: PROVIDER, dir, host: '127.0.0.1', logLevel: 'warn' });

  it.each(interactions)('%s', async (name) => {
    await INTERACTIONS[name](pact);
  });

  it(`produces exactly its ${version} contract`, () => {
    const written = join(dir, `${CONSUMER}-${PROVIDER}.json`);
    const described: { description: string }[] = JSON.parse(readFileSync(written, 'utf8')).interactions;
    expect(described.map((i) => i.description).sort()).toEqual(interactions.map((name) => DESCRIPTIONS[name]).sort());
    settlePactFile(written, pactFileOf(CONSUMER, version));
  });
});
