import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHECKOUT_ORDERS,
  CONTRACT_API_KEY,
  EXISTING_PAYMENT_ID,
  ID_PATTERN,
  pactFileOf,
  PROVIDER,
  settlePactFile,
  STATES,
} from './fixtures.js';
import { CheckoutClient, type Order } from './partner-checkout/checkout-client.js';

const { like, regex } = MatchersV3;

const CONSUMER = 'partner-checkout';
/*
 * 1.0.0 is released and frozen: this test never rewrites it. It still runs the checkout against the
 * mock of every interaction and compares what it would write with the frozen file, so a change of
 * the checkout that needs more of idempay fails here instead of being verified against a contract
 * its released version never had: such a change ships as a new VERSION, a new file.
 */
const VERSION = '1.0.0';

const DESCRIPTIONS = {
  paid: 'a checkout paying an order',
  declined: 'a checkout paying an order with a card that is declined',
  status: 'a checkout asking for the status of a payment',
};

const workDir = mkdtempSync(join(tmpdir(), 'pact-partner-checkout-'));
const pact = new PactV4({ consumer: CONSUMER, provider: PROVIDER, dir: workDir, host: '127.0.0.1', logLevel: 'warn' });
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

describe('partner-checkout, the consumer of idempay-api', () => {
  it('pays an order and reads the outcome', () => {
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
  });

  it('pays an order with a declined card and reads why', () => {
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
  });

  it('reads the status of a payment', () =>
    pact
      .addInteraction()
      .given(STATES.payment)
      .uponReceiving(DESCRIPTIONS.status)
      .withRequest('GET', `/v1/payments/${EXISTING_PAYMENT_ID}`, (b) => b.headers({ Authorization: `Bearer ${CONTRACT_API_KEY}` }))
      .willRespondWith(200, (b) => b.jsonBody({ status: regex(/^(pending|processing|succeeded|failed)$/, 'succeeded') }))
      .executeTest(async (server) => {
        expect(await new CheckoutClient(server.url, CONTRACT_API_KEY).statusOf(EXISTING_PAYMENT_ID)).toBe('succeeded');
      }));

  it(`produces exactly its released ${VERSION} contract`, () => {
    const written = join(workDir, `${CONSUMER}-${PROVIDER}.json`);
    const interactions: { description: string }[] = JSON.parse(readFileSync(written, 'utf8')).interactions;
    expect(interactions.map((i) => i.description).sort()).toEqual(Object.values(DESCRIPTIONS).sort());
    settlePactFile(written, pactFileOf(CONSUMER, VERSION));
  });
});
