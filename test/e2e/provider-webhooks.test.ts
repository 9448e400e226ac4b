import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { Client } from 'undici';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { PaymentReconciler } from '../../src/payments/payment-reconciler.js';
import { canMove } from '../../src/payments/payment-state.js';
import { refundKeyOf } from '../../src/refunds/refund.js';
import { RefundReconciler } from '../../src/refunds/refund-reconciler.js';
import { providerWebhooksRefusedTotal } from '../../src/webhooks/inbound/inbound-metrics.js';
import { InboxProcessor } from '../../src/webhooks/inbound/inbox-processor.js';
import { checkSignature, signingKeyOf } from '../../src/webhooks/webhook-signature.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { HoldingProxy } from '../support/holding-proxy.js';
import { eventBody, eventFor, newEventId, newSecret, postEvent, sandboxObject, signedBytes, signedHeaders } from '../support/provider-events.js';
import { SpecValidator } from '../support/spec-validator.js';

/**
 * Quick retries, and a breaker that never opens: the tests make the sandbox fail on purpose. Attempts
 * are long enough that a slow machine (or a held answer) never turns an answered charge into a timeout.
 */
const policy = {
  providerTimeoutMs: 2_000,
  providerBudgetMs: 2_500,
  requestBudgetMs: 3_000,
  providerRetryBaseMs: 5,
  providerRetryMaxMs: 20,
  breakerConsecutiveFailures: 100_000,
  breakerMinimumCalls: 10_000,
  breakerWindowSize: 10_000,
  // Processing payments are not due for the reconciler during a test: only a webhook can settle them.
  reconcileBaseMs: 120_000,
};

/**
 * A stack with jobs on and `policy`'s reconcile pace leaves its next reconcile run queued two minutes
 * ahead; the queue holds one queued run, so the next test file's stacks could not queue theirs until then.
 */
async function closeJobsStack(stack: Stack): Promise<void> {
  await stack.close();
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    await client.query(`DELETE FROM pgboss.job WHERE name = 'reconcile' AND state = 'created'`);
  } finally {
    await client.end();
  }
}

const inboxRows = async (stack: Stack): Promise<number> => Number((await stack.db.query('SELECT count(*) AS n FROM inbox_events'))[0].n);
const inboxJobs = async (stack: Stack): Promise<number> =>
  Number((await stack.db.query(`SELECT count(*) AS n FROM pgboss.job WHERE name = 'provider-webhooks'`))[0].n);

async function refusals(): Promise<Map<string, number>> {
  return new Map((await providerWebhooksRefusedTotal.get()).values.map((v) => [`${v.labels.provider} ${v.labels.reason}`, v.value]));
}

async function createPayment(stack: Stack, merchant: CreatedMerchant, body: unknown = visa) {
  return call(stack.baseUrl, 'POST', '/v1/payments', body, { key: merchant.test_key, idempotencyKey: randomUUID() });
}

/** Runs `work` over `items`, `width` at a time. */
async function inParallel<T, R>(items: T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  }));
  return results;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

describe('receiving: refused forgeries, a rotation, and the pg-boss worker', () => {
  const secret = newSecret();
  const previous = newSecret();
  let stack: Stack;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    // `acme` is the live provider's name, with no secret configured: its webhooks are refused like an unknown provider's.
    stack = await startStack({ ...policy, jobsEnabled: true, sandboxWebhookSecrets: [secret, previous], providerName: 'acme' });
  });
  afterAll(() => closeJobsStack(stack));
  beforeEach(async () => {
    await resetStack(stack);
    await stack.db.query(`DELETE FROM pgboss.job WHERE name = 'provider-webhooks'`);
    merchant = await createMerchant(stack);
  });

  it('refuses forged, altered, re-serialized, stale, future, header-less, unknown-provider and non-event requests: 4xx problem+json, nothing stored, counted', async () => {
    const paid = await createPayment(stack, merchant);
    const { id, body } = await eventFor(stack, chargeKeyOf(paid.body.id));
    const now = new Date();
    const good = signedHeaders(secret, id, body, now);
    const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([header]) => header !== name));
    const flipped = Buffer.from(body);
    flipped[flipped.length - 3] ^= 1;
    const signedText = (text: string, eventId = id) => ({ body: text, headers: signedHeaders(secret, eventId, text) });
    const before = await refusals();

    const cases: [string, { body: string; headers: Record<string, string>; provider?: string }, number, string][] = [
      ['a signature made with another secret', { body, headers: signedHeaders(newSecret(), id, body, now) }, 401, 'webhook-signature-invalid'],
      ['one byte of the body changed', { body: flipped.toString('latin1'), headers: good }, 401, 'webhook-signature-invalid'],
      ['the JSON re-serialized (same meaning, other bytes)', { body: JSON.stringify(JSON.parse(body), null, 1), headers: good }, 401, 'webhook-signature-invalid'],
      ['a signature of another version', { body, headers: { ...good, 'webhook-signature': good['webhook-signature'].replace('v1,', 'v2,') } }, 401, 'webhook-signature-invalid'],
      // Past the 300 s tolerance by more than the seconds this test may take on a slow machine.
      ['a timestamp 310 s old', { body, headers: signedHeaders(secret, id, body, new Date(now.getTime() - 310_000)) }, 401, 'webhook-timestamp-out-of-tolerance'],
      ['a timestamp 310 s ahead', { body, headers: signedHeaders(secret, id, body, new Date(now.getTime() + 310_000)) }, 401, 'webhook-timestamp-out-of-tolerance'],
      ['no webhook-id', { body, headers: without('webhook-id') }, 400, 'webhook-headers-invalid'],
      ['no webhook-timestamp', { body, headers: without('webhook-timestamp') }, 400, 'webhook-headers-invalid'],
      ['no webhook-signature', { body, headers: without('webhook-signature') }, 400, 'webhook-headers-invalid'],
      ['a timestamp that is not a number', { body, headers: { ...good, 'webhook-timestamp': 'yesterday' } }, 400, 'webhook-headers-invalid'],
      ['an unknown provider', { body, headers: good, provider: 'stripe' }, 404, 'webhook-provider-unknown'],
      ['a provider with no secret configured', { body, headers: good, provider: 'acme' }, 404, 'webhook-provider-unknown'],
      ['a signed body that is not JSON', signedText('{"id":'), 400, 'webhook-payload-invalid'],
      ['a signed JSON array', signedText('[]'), 400, 'webhook-payload-invalid'],
      ['a signed event whose id is not the webhook-id', signedText(body, newEventId()), 400, 'webhook-payload-invalid'],
      ['a signed event of an unknown type', signedText(body.replace('"charge.succeeded"', '"charge.captured"')), 400, 'webhook-event-type-unknown'],
    ];
    for (const [why, request, status, code] of cases) {
      const answer = await postEvent(stack.baseUrl, request.body, request.headers, request.provider);
      expect([why, answer.status, answer.body.code]).toEqual([why, status, code]);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }

    // A header sent twice: which one was meant is not ours to guess.
    const client = new Client(stack.baseUrl);
    try {
      const headers = Object.entries({ ...good, 'content-type': 'application/json' }).flat();
      const twice = await client.request({ method: 'POST', path: '/provider-webhooks/sandbox', headers: [...headers, 'webhook-id', id], body });
      const text = await twice.body.text();
      expect([twice.statusCode, JSON.parse(text).code]).toEqual([400, 'webhook-headers-invalid']);
    } finally {
      await client.close();
    }

    // Signed but not UTF-8: refused, not stored as something else.
    const latin1 = Buffer.concat([Buffer.from(body.slice(0, -2)), Buffer.from([0xe9]), Buffer.from('}}')]);
    const bytes = await fetch(`${stack.baseUrl}/provider-webhooks/sandbox`, { method: 'POST', headers: { ...signedBytes(secret, id, latin1), 'content-type': 'application/json' }, body: latin1 });
    expect([bytes.status, ((await bytes.json()) as { code: string }).code]).toEqual([400, 'webhook-payload-invalid']);

    expect(await inboxRows(stack)).toBe(0);
    expect(await inboxJobs(stack)).toBe(0);
    const after = await refusals();
    const counted = (label: string) => (after.get(label) ?? 0) - (before.get(label) ?? 0);
    expect(counted('sandbox webhook-signature-invalid')).toBe(4);
    expect(counted('sandbox webhook-timestamp-out-of-tolerance')).toBe(2);
    expect(counted('sandbox webhook-headers-invalid')).toBe(5);
    expect(counted('(unknown) webhook-provider-unknown')).toBe(2);
    expect(counted('sandbox webhook-payload-invalid')).toBe(4);
    expect(counted('sandbox webhook-event-type-unknown')).toBe(1);

    // The same request, untouched, is accepted.
    const accepted = await postEvent(stack.baseUrl, body, good);
    expect([accepted.status, accepted.body]).toEqual([200, { received: true }]);
    expect(await inboxRows(stack)).toBe(1);
  });

  it('accepts both secrets during a rotation, and a header carrying a stale signature beside a good one', async () => {
    const [first, second, third] = await Promise.all([0, 1, 2].map(() => createPayment(stack, merchant)));
    const a = await eventFor(stack, chargeKeyOf(first.body.id));
    const b = await eventFor(stack, chargeKeyOf(second.body.id));
    const c = await eventFor(stack, chargeKeyOf(third.body.id));
    expect((await postEvent(stack.baseUrl, a.body, signedHeaders(secret, a.id, a.body))).status).toBe(200);
    expect((await postEvent(stack.baseUrl, b.body, signedHeaders(previous, b.id, b.body))).status).toBe(200);
    const both = signedHeaders(previous, c.id, c.body);
    both['webhook-signature'] = `v1,${randomBytes(32).toString('base64')} ${both['webhook-signature']}`;
    expect((await postEvent(stack.baseUrl, c.body, both)).status).toBe(200);
    expect(await inboxRows(stack)).toBe(3);
  });

  it('verifies exactly what the standardwebhooks package signs, and refuses what it would refuse', () => {
    const keys = [signingKeyOf(secret, 'test')];
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.stringMatching(/^[\x21-\x7e]{1,60}$/), fc.integer({ min: -300, max: 300 }), (payload, id, skew) => {
        const now = Math.floor(Date.now() / 1000);
        const at = new Date((now + skew) * 1000);
        const headers = { id, timestamp: now + skew, signatures: [new Webhook(secret).sign(id, at, payload)] };
        expect(checkSignature(keys, headers, Buffer.from(payload), now, 300)).toBe('valid');
        const altered = Buffer.from(`${payload} `);
        expect(checkSignature(keys, headers, altered, now, 300)).toBe('signature-invalid');
        expect(() => new Webhook(secret).verify(altered, { 'webhook-id': id, 'webhook-timestamp': String(now + skew), 'webhook-signature': headers.signatures[0] })).toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('never answers a 5xx to generated requests of every class, and stores only the well-signed events', async () => {
    const paid = await createPayment(stack, merchant);
    const object = await sandboxObject(stack, chargeKeyOf(paid.body.id));
    const validator = new SpecValidator('openapi/v1.yaml');
    // Any one path segment ("." and ".." would be resolved away by the client, leaving another route).
    const provider = fc.oneof(fc.constant('sandbox'), fc.constant('acme'), fc.string({ minLength: 1, maxLength: 20 }).filter((name) => name !== '.' && name !== '..').map(encodeURIComponent));
    const json = fc.oneof(
      fc.constant('charge.succeeded').map((type) => eventBody(newEventId(), type, object, chargeKeyOf(paid.body.id))),
      fc.json(),
      fc.string({ unit: 'grapheme', maxLength: 50 }),
      fc.record({ id: fc.string(), type: fc.constantFrom('charge.succeeded', 'refund.failed', 'x'), data: fc.anything() }).map((v) => JSON.stringify(v)),
    );
    const header = (valid: string) => fc.oneof(fc.constant(valid), fc.constant(undefined), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }));
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(provider, json, fc.integer({ min: -1000, max: 1000 }), fc.boolean(), fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1'), async (name, body, skew, wellSigned, contentType) => {
        const id = (() => {
          try {
            return String((JSON.parse(body) as { id?: unknown }).id ?? newEventId());
          } catch {
            return newEventId();
          }
        })();
        const signed = signedHeaders(wellSigned ? secret : newSecret(), /^[\x21-\x7e]{1,255}$/.test(id) ? id : newEventId(), body, new Date(Date.now() + skew * 1000));
        const headers = Object.fromEntries(
          Object.entries({
            'webhook-id': fc.sample(header(signed['webhook-id']), 1)[0],
            'webhook-timestamp': fc.sample(header(signed['webhook-timestamp']), 1)[0],
            'webhook-signature': fc.sample(header(signed['webhook-signature']), 1)[0],
            'content-type': contentType,
          }).filter((entry): entry is [string, string] => entry[1] !== undefined),
        );
        const res = await fetch(`${stack.baseUrl}/provider-webhooks/${name}`, { method: 'POST', headers, body });
        const text = await res.text();
        expect(res.status, `${res.status} ${text}`).toBeLessThan(500);
        expect(validator.check('POST', `/provider-webhooks/${name}`, res.status, res.headers, text)).toEqual([]);
        if (res.status === 200) stored++;
      }),
      { numRuns: 200 },
    );
    // A duplicate is answered 200 too, so there are at most as many rows as 200s.
    expect(await inboxRows(stack)).toBeLessThanOrEqual(stored);
  });

  it('settles payments answered 202 within seconds through the pg-boss worker, with the event in the transition', async () => {
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    const created = await Promise.all([visa, visa, { ...visa, payment_method: 'pm_card_declined' }].map((body) => createPayment(stack, merchant, body)));
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
    expect(created.map((c) => c.status)).toEqual([202, 202, 202]);
    const events = await Promise.all(created.map((c) => eventFor(stack, chargeKeyOf(c.body.id))));
    const started = Date.now();
    for (const event of events) {
      const answer = await postEvent(stack.baseUrl, event.body, signedHeaders(secret, event.id, event.body));
      expect(answer.status).toBe(200);
    }
    const answeredMs = Date.now() - started;
    expect(answeredMs).toBeLessThan(1_000);
    expect(await inboxJobs(stack)).toBe(3);

    let statuses: string[] = [];
    while (Date.now() - started < 10_000) {
      const rows: { status: string }[] = await stack.db.query('SELECT status FROM payments WHERE id = ANY($1) ORDER BY id', [created.map((c) => c.body.id)]);
      statuses = rows.map((r) => r.status);
      if (!statuses.includes('processing')) break;
      await sleep(100);
    }
    expect(statuses.sort()).toEqual(['failed', 'succeeded', 'succeeded']);
    for (const [i, c] of created.entries()) {
      const transitions = await stack.db.query('SELECT from_status, to_status, reason FROM payment_transitions WHERE payment_id = $1 ORDER BY id', [c.body.id]);
      expect(transitions).toEqual([
        { from_status: 'pending', to_status: 'processing', reason: expect.stringMatching(/^unknown:/) },
        { from_status: 'processing', to_status: i === 2 ? 'failed' : 'succeeded', reason: `provider webhook charge.${i === 2 ? 'failed' : 'succeeded'} ${events[i].id}` },
      ]);
      const fetched = await call(stack.baseUrl, 'GET', `/v1/payments/${c.body.id}`, undefined, { key: merchant.test_key });
      expect(fetched.body.status).toBe(i === 2 ? 'failed' : 'succeeded');
      if (i === 2) expect(fetched.body.failure_code).toBe('card_declined');
    }
    const inbox: { status: string; outcome: string }[] = await stack.db.query('SELECT status, outcome FROM inbox_events ORDER BY id');
    expect(inbox.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    expect(inbox.map((r) => r.outcome)).toEqual(created.map((c, i) => `payment ${c.body.id} moved to ${i === 2 ? 'failed' : 'succeeded'}`));
  });
});

describe('applying: once per event, before the answer, and 1,000 events out of order', () => {
  const secret = newSecret();
  const proxy = new HoldingProxy();
  let stack: Stack;
  let merchant: CreatedMerchant;
  let processor: InboxProcessor;
  const post = (event: { id: string; body: string }) => postEvent(stack.baseUrl, event.body, signedHeaders(secret, event.id, event.body));
  const drain = async () => {
    while ((await processor.runDue()) > 0);
  };
  /** Applies this one event now (a drain could find it leased by a concurrent one and return before it is applied). */
  const applyNow = async (eventId: string) => {
    const [row] = await stack.db.query('SELECT id FROM inbox_events WHERE event_id = $1', [eventId]);
    await processor.process(row.id);
  };

  beforeAll(async () => {
    await proxy.start();
    // The API reaches the sandbox through the proxy, which can hold a charge's answer.
    stack = await startStack({ ...policy, sandboxWebhookSecrets: [secret], sandboxUrl: proxy.url }, { live: true });
    proxy.target = stack.sandboxUrl;
    processor = stack.app.get(InboxProcessor);
  });
  afterAll(async () => {
    await stack.close();
    await proxy.close();
  });
  beforeEach(async () => {
    await resetStack(stack);
    proxy.hold = undefined;
    merchant = await createMerchant(stack);
  });

  it('20 parallel copies of one event: one inbox row, applied once (one transition, one outbox event); a contradicting event changes nothing', async () => {
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    const created = await createPayment(stack, merchant);
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
    expect(created.status).toBe(202);
    const event = await eventFor(stack, chargeKeyOf(created.body.id));
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(event)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const rows: { id: string }[] = await stack.db.query('SELECT id FROM inbox_events');
    expect(rows).toHaveLength(1);
    await Promise.all([...Array.from({ length: 20 }, () => processor.process(rows[0].id)), processor.runDue()]);

    const transitions = await stack.db.query(`SELECT to_status FROM payment_transitions WHERE payment_id = $1 AND reason LIKE 'provider webhook%'`, [created.body.id]);
    expect(transitions).toEqual([{ to_status: 'succeeded' }]);
    const events = await stack.db.query(`SELECT type FROM events WHERE payment_id = $1 AND type = 'payment.succeeded'`, [created.body.id]);
    expect(events).toHaveLength(1);
    expect(await stack.db.query('SELECT status, attempts, outcome FROM inbox_events')).toEqual([
      { status: 'applied', attempts: 0, outcome: `payment ${created.body.id} moved to succeeded` },
    ]);

    // A charge.failed for the same charge, later: the payment stays succeeded.
    const object = await sandboxObject(stack, chargeKeyOf(created.body.id));
    const contrary = newEventId();
    const body = eventBody(contrary, 'charge.failed', { ...object, status: 'failed', failure_code: 'card_declined' }, chargeKeyOf(created.body.id));
    expect((await post({ id: contrary, body })).status).toBe(200);
    await drain();
    const [{ status }] = await stack.db.query('SELECT status FROM payments WHERE id = $1', [created.body.id]);
    expect(status).toBe('succeeded');
    expect(await stack.db.query(`SELECT outcome FROM inbox_events WHERE event_id = $1`, [contrary])).toEqual([{ outcome: `no change: payment ${created.body.id} is succeeded` }]);
  });

  it('ignores, with the reason, events that name no payment of ours or one of the other mode', async () => {
    const live = newEventId();
    const livePayment = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.live_key, idempotencyKey: randomUUID() });
    const cases = [
      eventBody(newEventId(), 'charge.succeeded', { id: 'ch_1', status: 'succeeded' }, 'pay_00000000000000000000000000:charge'),
      eventBody(newEventId(), 'refund.succeeded', { id: 're_1', status: 'succeeded' }, 'something-else'),
    ];
    for (const body of cases) expect((await post({ id: JSON.parse(body).id, body })).status).toBe(200);
    expect(livePayment.status).toBe(201);
    const body = eventBody(live, 'charge.succeeded', { id: 'ch_2', status: 'succeeded' }, chargeKeyOf(livePayment.body.id));
    expect((await post({ id: live, body })).status).toBe(200);
    await drain();
    const rows: { status: string; outcome: string }[] = await stack.db.query('SELECT status, outcome FROM inbox_events ORDER BY id');
    expect(rows.every((r) => r.status === 'ignored')).toBe(true);
    expect(rows[0].outcome).toBe('no payment "pay_00000000000000000000000000"');
    expect(rows[1].outcome).toMatch(/names no refund of ours/);
    expect(rows[2].outcome).toMatch(/is in live mode, the provider's events are test/);
  });

  it('an event that arrives before the charge is answered settles the pending payment, and the create answers with it as it now is', async () => {
    const held: string[] = [];
    proxy.hold = async (key, answer) => {
      const id = newEventId();
      const body = eventBody(id, `charge.${String(answer.status)}`, answer, key);
      expect((await post({ id, body })).status).toBe(200);
      await applyNow(id);
      held.push(key);
    };
    const created = await Promise.all([visa, { ...visa, payment_method: 'pm_card_insufficient_funds' }].map((body) => createPayment(stack, merchant, body)));
    expect(held).toHaveLength(2);
    expect(created.map((c) => [c.status, c.body.status])).toEqual([[201, 'succeeded'], [201, 'failed']]);
    expect(created[1].body.failure_code).toBe('insufficient_funds');
    for (const c of created) {
      const transitions: { from_status: string; reason: string }[] = await stack.db.query('SELECT from_status, reason FROM payment_transitions WHERE payment_id = $1', [c.body.id]);
      expect(transitions).toEqual([{ from_status: 'pending', reason: expect.stringMatching(/^provider webhook charge\./) }]);
      // The answer is the payment as it is stored, and a replay of the key gives the same.
      const fetched = await call(stack.baseUrl, 'GET', `/v1/payments/${c.body.id}`, undefined, { key: merchant.test_key });
      expect(fetched.body).toEqual(c.body);
    }
  });

  it('1,000 events (20 % duplicates, shuffled, some before the charge answer) for 640 payments and 160 refunds: each in its right final state, none moved backwards, nothing left for the reconciler', async () => {
    const methods = (n: number, declined: number) => Array.from({ length: n }, (_, i) => ({ ...visa, amount: 1_000 + i, payment_method: i < declined ? 'pm_card_declined' : 'pm_card_visa' }));
    // Answered at once (201).
    const answered = await inParallel(methods(480, 80), 16, (body) => createPayment(stack, merchant, body));
    // Executed, then answered 500: 202 processing, for the webhook to settle.
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    const processing = await inParallel(methods(120, 20), 16, (body) => createPayment(stack, merchant, body));
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
    // Overtaken by their webhook: the event is posted and applied while the answer is held.
    const early = new Map<string, { id: string; body: string }>();
    proxy.hold = async (key, answer) => {
      // A retry of the charge (the held answer can outlast an attempt's timeout) is answered without a second event.
      if (early.has(key)) return;
      const id = newEventId();
      const event = { id, body: eventBody(id, `charge.${String(answer.status)}`, answer, key) };
      early.set(key, event);
      expect((await post(event)).status).toBe(200);
      await applyNow(id);
    };
    const overtaken = await inParallel(methods(40, 8), 8, (body) => createPayment(stack, merchant, body));
    proxy.hold = undefined;
    expect(answered.every((c) => c.status === 201)).toBe(true);
    expect(processing.every((c) => c.status === 202)).toBe(true);
    expect(overtaken.every((c) => c.status === 201)).toBe(true);

    // Refunds of succeeded payments, some answered at once and some left processing.
    const refundable = answered.filter((c) => c.body.status === 'succeeded').slice(0, 160);
    const refund = (c: { body: { id: string } }) => call(stack.baseUrl, 'POST', `/v1/payments/${c.body.id}/refunds`, { amount: 500 }, { key: merchant.test_key, idempotencyKey: randomUUID() });
    const refunds = await inParallel(refundable.slice(0, 120), 16, refund);
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    refunds.push(...(await inParallel(refundable.slice(120), 16, refund)));
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
    expect(refunds.filter((r) => r.status === 201)).toHaveLength(120);
    expect(refunds.filter((r) => r.status === 202)).toHaveLength(40);

    const payments = [...answered, ...processing, ...overtaken];
    const fresh = await Promise.all([
      ...[...answered, ...processing].map((c) => eventFor(stack, chargeKeyOf(c.body.id))),
      ...refunds.map((r) => eventFor(stack, refundKeyOf(r.body.id))),
    ]);
    expect(early.size + fresh.length).toBe(800);
    const all = [...fresh, ...early.values()];
    const duplicates = Array.from({ length: 200 }, () => all[Math.floor(Math.random() * all.length)]);
    const deliveries = shuffle([...fresh, ...duplicates]);
    expect(early.size + deliveries.length).toBe(1_000);
    const started = Date.now();
    const answers = await inParallel(deliveries, 20, (event) => post(event));
    const ingestMs = Date.now() - started;
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await inboxRows(stack)).toBe(800);
    await drain();

    const inbox: { status: string; n: number }[] = await stack.db.query('SELECT status, count(*)::int AS n FROM inbox_events GROUP BY status');
    expect(inbox).toEqual([{ status: 'applied', n: 800 }]);
    // Every payment and refund as the provider executed it.
    for (const c of payments) {
      const executed = await sandboxObject(stack, chargeKeyOf(c.body.id));
      const [row] = await stack.db.query('SELECT status, provider_charge_id FROM payments WHERE id = $1', [c.body.id]);
      expect([c.body.id, row.status, row.provider_charge_id]).toEqual([c.body.id, executed.status, executed.id]);
    }
    // Those overtaken were answered as the webhook left them; those answered 202 were settled by theirs.
    for (const c of overtaken) expect(c.body.status).toBe((await sandboxObject(stack, chargeKeyOf(c.body.id))).status);
    const settledByWebhook: { n: number }[] = await stack.db.query(
      `SELECT count(DISTINCT payment_id)::int AS n FROM payment_transitions WHERE payment_id = ANY($1) AND reason LIKE 'provider webhook charge.%'`,
      [[...processing, ...overtaken].map((c) => c.body.id)],
    );
    expect(settledByWebhook).toEqual([{ n: 160 }]);
    const refundRows: { status: string; n: number }[] = await stack.db.query('SELECT status, count(*)::int AS n FROM refunds GROUP BY status');
    expect(refundRows).toEqual([{ status: 'succeeded', n: 160 }]);
    // None moved backwards: each payment's transitions chain forward from pending, each allowed, one terminal.
    const transitions: { payment_id: string; from_status: string; to_status: string }[] = await stack.db.query(
      'SELECT payment_id, from_status, to_status FROM payment_transitions ORDER BY id',
    );
    const byPayment = new Map<string, typeof transitions>();
    for (const t of transitions) byPayment.set(t.payment_id, [...(byPayment.get(t.payment_id) ?? []), t]);
    expect(byPayment.size).toBe(640);
    for (const [paymentId, chain] of byPayment) {
      expect([paymentId, chain[0].from_status]).toEqual([paymentId, 'pending']);
      for (const [i, t] of chain.entries()) {
        expect(canMove(t.from_status as never, t.to_status as never)).toBe(true);
        if (i > 0) expect(t.from_status).toBe(chain[i - 1].to_status);
      }
      expect(chain.filter((t) => t.to_status === 'succeeded' || t.to_status === 'failed')).toHaveLength(1);
    }
    // One outbox event per final state.
    const finals: { n: number }[] = await stack.db.query(`SELECT count(*)::int AS n FROM events WHERE type IN ('payment.succeeded', 'payment.failed')`);
    expect(finals).toEqual([{ n: 640 }]);
    expect(await stack.db.query(`SELECT count(*)::int AS n FROM payments WHERE status IN ('pending', 'processing')`)).toEqual([{ n: 0 }]);
    expect(await stack.app.get(PaymentReconciler).runOnce()).toBe(0);
    expect(await stack.app.get(RefundReconciler).runOnce()).toBe(0);
    // Ingest stays fast: 1,000 verified, durable webhooks well inside the test's budget.
    expect(ingestMs).toBeLessThan(20_000);
  }, 120_000);
});

describe("the sandbox's own webhooks (duplicated, reordered, sent before the answer), applied by the pg-boss worker", () => {
  const secret = newSecret();
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ ...policy, jobsEnabled: true, sandboxWebhookSecrets: [secret] });
  });
  afterAll(() => closeJobsStack(stack));

  it('every execution arrives, is stored once and applied: each payment and refund as the provider left it, nothing for the reconciler', async () => {
    await resetStack(stack);
    const merchant = await createMerchant(stack);
    stack.sandbox.configure({}, { url: `${stack.baseUrl}/provider-webhooks/sandbox`, signingSecret: secret, duplicateRate: 0.3, reorderRate: 0.3, beforeResponse: true });
    const bodies = [...Array(20).fill(visa), ...Array(4).fill({ ...visa, payment_method: 'pm_card_declined' }), ...Array(3).fill({ ...visa, payment_method: 'pm_card_refund_fails' })];
    const answered = await inParallel(bodies, 8, (body) => createPayment(stack, merchant, body));
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    const processing = await inParallel([visa, visa, visa, { ...visa, payment_method: 'pm_card_declined' }], 4, (body) => createPayment(stack, merchant, body));
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
    expect(processing.map((p) => p.status)).toEqual([202, 202, 202, 202]);
    const refundable = answered.filter((c) => c.body.status === 'succeeded');
    const refunds = await inParallel([...refundable.slice(0, 5), ...refundable.filter((c) => c.body.payment_method === 'pm_card_refund_fails')], 4, (c) =>
      call(stack.baseUrl, 'POST', `/v1/payments/${c.body.id}/refunds`, {}, { key: merchant.test_key, idempotencyKey: randomUUID() }),
    );
    await stack.sandbox.webhooksIdle();
    const { sent } = stack.sandbox.deliveries;
    expect(sent.every((d) => d.delivered)).toBe(true);
    const executions = [...stack.sandbox.executions.values()].reduce((a, b) => a + b, 0);

    const deadline = Date.now() + 15_000;
    let open = -1;
    while (Date.now() < deadline) {
      [{ open }] = await stack.db.query(
        `SELECT (SELECT count(*) FROM inbox_events WHERE status <> 'applied') + (SELECT count(*) FROM payments WHERE status = 'processing') AS open`,
      ).then((rows: { open: string }[]) => rows.map((r) => ({ open: Number(r.open) })));
      if (open === 0) break;
      await sleep(100);
    }
    expect(open).toBe(0);
    // Some were sent twice: still one row per event.
    expect(sent.length).toBeGreaterThan(executions);
    expect(await inboxRows(stack)).toBe(executions);
    for (const c of [...answered, ...processing]) {
      const executed = await sandboxObject(stack, chargeKeyOf(c.body.id));
      const [row] = await stack.db.query('SELECT status FROM payments WHERE id = $1', [c.body.id]);
      expect(row.status).toBe(executed.status);
    }
    for (const r of refunds) {
      const executed = await sandboxObject(stack, refundKeyOf(r.body.id));
      const [row] = await stack.db.query('SELECT status FROM refunds WHERE id = $1', [r.body.id]);
      expect(row.status).toBe(executed.status);
    }
    const byWebhook = await stack.db.query(`SELECT DISTINCT payment_id FROM payment_transitions WHERE reason LIKE 'provider webhook charge.%' AND payment_id = ANY($1)`, [processing.map((p) => p.body.id)]);
    expect(byWebhook).toHaveLength(4);
    expect(await stack.app.get(PaymentReconciler).runOnce()).toBe(0);
  }, 60_000);
});
