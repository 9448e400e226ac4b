import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The fixed values both the consumer tests and the provider states use, so a state cannot drift from
 * the requests it prepares for. Those a released pact contains (state names, the key, the payment
 * id) are frozen with it: changing one fails the verification of that pact, as it should.
 */

export const PROVIDER = 'idempay-api';

/** The test key of the merchant every provider state seeds; consumers send it as `Bearer`. */
export const CONTRACT_API_KEY = 'sk_test_pactContractKey4Yq7Nw2Rz8Vb5Tc1Xd3';
/** Well-formed but known to no merchant: the 401 case. */
export const UNKNOWN_API_KEY = 'sk_test_pactUnknownKey9Hs6Lm0Pf2Kj4Wg8Qe7';
export const CONTRACT_MERCHANT_ID = 'mer_01JD8X4Q5R2Z7K9M3N6PACTMER';

export const EXISTING_PAYMENT_ID = 'pay_01JD8X4Q5R2Z7K9M3N6P8T0V1W';
export const MISSING_PAYMENT_ID = 'pay_01JD8X4Q5R2Z7K9M3N6P8T0000';

export const CREATE_BODY = {
  amount: 5000,
  currency: 'eur',
  payment_method: 'pm_card_visa',
  description: 'Order 1042',
  metadata: { order_id: '1042' },
};
/** The replay key's first request was CREATE_BODY; this one differs in `amount` only. */
export const REUSED_BODY = { ...CREATE_BODY, amount: 9900 };
export const UPDATE_BODY = { description: 'Order 1042 (gift)' };

export const IDEMPOTENCY_KEYS = {
  create: 'pact-create-0001',
  replay: 'pact-replay-0001',
  inUse: 'pact-in-use-0001',
  update: 'pact-update-0001',
};

/** What the partner's checkout sends: its own Idempotency-Key per order. Part of its released 1.0.0 pact. */
export const CHECKOUT_ORDERS = {
  paid: { orderId: '1001', amount: 2500, currency: 'usd', paymentMethod: 'pm_card_visa' },
  declined: { orderId: '1002', amount: 2500, currency: 'usd', paymentMethod: 'pm_card_declined' },
};

/** The partner checkout's webhook endpoint (from its 1.1.0): where it wants to hear about its payments. */
export const CHECKOUT_WEBHOOK = {
  host: 'checkout.partner.example',
  url: 'https://checkout.partner.example/idempay/webhooks',
  enabledEvents: ['payment.succeeded', 'payment.failed', 'refund.succeeded'],
  idempotencyKey: 'checkout-webhook-endpoint-1',
};

/** Provider state names; each handler seeds the merchant itself, so one state per interaction suffices. */
export const STATES = {
  merchant: 'the merchant of the contract test key exists',
  payment: 'the merchant has the payment ' + EXISTING_PAYMENT_ID,
  finishedKey: 'a payment was created with Idempotency-Key ' + IDEMPOTENCY_KEYS.replay,
  inUseKey: 'a request with Idempotency-Key ' + IDEMPOTENCY_KEYS.inUse + ' is in progress',
  webhookHost: `the host ${CHECKOUT_WEBHOOK.host} resolves to a public address`,
};

export const ID_PATTERN = /^pay_[0-9A-Za-z]+$/;
export const WEBHOOK_ENDPOINT_ID_PATTERN = /^we_[0-9A-Za-z]+$/;
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;
export const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
export const TIMESTAMP_PATTERN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const JSON_CONTENT_TYPE = /^application\/json(;.*)?$/;
export const PROBLEM_CONTENT_TYPE = /^application\/problem\+json(;.*)?$/;

export const PACTS_DIR = fileURLToPath(new URL('../../pacts/', import.meta.url));

/** `pacts/<consumer>/<version>.json`, relative to PACTS_DIR as released.json names it. */
export function pactFileOf(consumer: string, version: string): string {
  return join(PACTS_DIR, consumer, `${version}.json`);
}

function isReleased(target: string): boolean {
  const released: Record<string, string> = JSON.parse(readFileSync(join(PACTS_DIR, 'released.json'), 'utf8'));
  return relative(PACTS_DIR, target).split('\\').join('/') in released;
}

/**
 * Puts a consumer test's freshly written pact where the provider verification reads it. Vitest
 * does not order test files (it runs failed and slow files first), so the verification of this
 * run may already have read the file: a pact that changed is written, then reported as a failure,
 * and the next run verifies it — like `src/generated/`, a stale pact never passes silently.
 * A released pact is never written: a client that no longer produces it is a new version.
 */
export function settlePactFile(written: string, target: string): void {
  const next = readFileSync(written, 'utf8');
  const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
  if (current === next) return;
  const name = relative(PACTS_DIR, target);
  if (isReleased(target)) {
    if (current !== undefined && sameContract(current, next)) return;
    throw new Error(
      `pacts/${name} is released and frozen, and the consumer no longer produces it: give the consumer a new version instead`,
    );
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, next);
  throw new Error(`pacts/${name} was ${current === undefined ? 'missing' : 'stale'} and has been written: review it and run again`);
}

/** Interactions equal, whatever Pact version wrote the file (its `metadata`). */
function sameContract(a: string, b: string): boolean {
  const contract = (text: string) => {
    const { metadata: _metadata, ...rest } = JSON.parse(text);
    return JSON.stringify(rest);
  };
  return contract(a) === contract(b);
}
