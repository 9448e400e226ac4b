import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { webhooksFromEnv } from '../../src/sandbox-provider/sandbox-server.js';
import { answered, type Answer, type Sandbox, startSandbox, visa } from './sandbox-client.js';
import { type Receiver, startReceiver } from './webhook-receiver.js';

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const secret = newSecret();

let sandbox: Sandbox;
let receiver: Receiver;

beforeAll(async () => {
  [sandbox, receiver] = await Promise.all([startSandbox(), startReceiver()]);
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});
beforeEach(async () => {
  await sandbox.request('POST', '/__sandbox/reset');
  receiver.clear();
  // Fast retries, so a test that needs them does not wait a second per attempt.
  await configure({ webhook_url: receiver.url, webhook_signing_secret: secret, webhook_retry_interval_ms: 20 });
});

async function configure(knobs: Record<string, unknown>): Promise<Answer> {
  const answer = await sandbox.configure(knobs);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer;
}

const chargeOk = async (key: string, body: Record<string, unknown> = visa) => {
  const answer = answered(await sandbox.charge(key, body));
  expect(answer.status).toBe(200);
  return answer;
};

const refundOk = async (key: string, body: Record<string, unknown>) => {
  const answer = answered(await sandbox.refund(key, body));
  expect(answer.status).toBe(200);
  return answer;
};

const deliveries = async () => (await sandbox.request('GET', '/__sandbox/webhooks')).body;

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('one event per execution', () => {
  it('sends each of the four types, shaped as the envelope with the answered object and its key', async () => {
    const succeeded = await chargeOk('pay_1:charge', { ...visa, reference: 'pay_1' });
    const declined = await chargeOk('pay_2:charge', { ...visa, payment_method: 'pm_card_declined', reference: 'pay_2' });
    const refunded = await refundOk('re_1:refund', { charge: succeeded.body.id, amount: 400, currency: 'eur', reference: 're_1' });
    const fragile = await chargeOk('pay_3:charge', { ...visa, payment_method: 'pm_card_refund_fails', reference: 'pay_3' });
    const refundFailed = await refundOk('re_2:refund', { charge: fragile.body.id, amount: 1000, currency: 'eur', reference: 're_2' });
    await sandbox.state.webhooksIdle();

    const expected: [string, string, Answer][] = [
      ['pay_1:charge', 'charge.succeeded', succeeded],
      ['pay_2:charge', 'charge.failed', declined],
      ['re_1:refund', 'refund.succeeded', refunded],
      ['pay_3:charge', 'charge.succeeded', fragile],
      ['re_2:refund', 'refund.failed', refundFailed],
    ];
    expect(receiver.received).toHaveLength(expected.length);
    const before = Math.floor(Date.now() / 1000);
    for (const [key, type, answer] of expected) {
      const delivery = receiver.received.find((r) => r.event.data.object.idempotency_key === key);
      expect(delivery?.event).toEqual({
        id: expect.stringMatching(/^evt_sbx_[0-9a-f]{24}$/),
        object: 'event',
        type,
        created: expect.any(Number),
        data: { object: { ...answer.body, idempotency_key: key } },
      });
      expect(Object.keys(delivery?.event)).toEqual(['id', 'object', 'type', 'created', 'data']);
      expect(before - delivery?.event.created).toBeLessThanOrEqual(5);
      expect(delivery?.path).toBe('/hooks');
      expect(delivery?.headers['content-type']).toBe('application/json');
    }
    expect(refundFailed.body).toMatchObject({ status: 'failed', failure_code: 'refund_failed', failure_message: 'The refund could not be completed.' });
    const ids = receiver.received.map((r) => r.event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('never for a replay, a lookup, a refusal or a fault that executed nothing; once for a charge-then-fail', async () => {
    const charge = await chargeOk('k-ok');
    await sandbox.charge('k-ok');
    await sandbox.lookup('charges', 'k-ok');
    const refund = { charge: charge.body.id, amount: 100, currency: 'eur' };
    await refundOk('k-refund', refund);
    await sandbox.refund('k-refund', refund);
    await sandbox.lookup('refunds', 'k-refund');
    // Ten at once with one key: one execution, nine waiting replays.
    await Promise.all(Array.from({ length: 10 }, () => sandbox.charge('k-burst')));

    // Refused: nothing stored, nothing executed.
    await sandbox.send('POST', '/v1/charges', { body: visa });
    await sandbox.charge('k-invalid', { amount: 'ten' });
    await sandbox.refund('k-ok', refund);
    await sandbox.refund('k-too-much', { ...refund, amount: 5000 });
    await sandbox.refund('k-unknown', { ...refund, charge: 'ch_nope' });
    const declined = await chargeOk('k-declined', { ...visa, payment_method: 'pm_card_declined' });
    await sandbox.refund('k-not-refundable', { ...refund, charge: declined.body.id });

    // Faulted without executing, then the same keys executed once with faults that answer after executing.
    for (const knobs of [{ error_rate: 1 }, { rate_limit_rate: 1 }, { reset_rate: 1 }, { timeout_rate: 1 }]) {
      await configure(knobs);
      await sandbox.charge('k-faulted', visa, 100);
      await sandbox.refund('k-faulted-refund', refund, 100);
      await configure(Object.fromEntries(Object.keys(knobs).map((knob) => [knob, 0])));
    }
    await configure({ charge_then_fail_rate: 1 });
    await sandbox.charge('k-faulted');
    await configure({ charge_then_fail_mode: 'hang' });
    await sandbox.refund('k-faulted-refund', refund, 100);
    await configure({ charge_then_fail_rate: 0 });
    await sandbox.charge('k-faulted');
    await sandbox.refund('k-faulted-refund', refund);
    await sandbox.state.webhooksIdle();

    // Every key the sandbox executed was announced exactly once, and no other key ever was.
    const executed = Object.fromEntries(sandbox.state.executions);
    expect(executed).toEqual({ 'k-ok': 1, 'k-refund': 1, 'k-burst': 1, 'k-declined': 1, 'k-faulted': 1, 'k-faulted-refund': 1 });
    expect(Object.fromEntries([...receiver.byKey()].map(([key, ids]) => [key, ids.length]))).toEqual(executed);
  });

  it('sends nothing without a URL, without a secret, or with webhooks off', async () => {
    await configure({ webhook_url: null });
    await chargeOk('k-no-url');
    await configure({ webhook_url: receiver.url, webhook_signing_secret: null });
    await chargeOk('k-no-secret');
    await configure({ webhook_signing_secret: secret, webhooks_enabled: false });
    await chargeOk('k-off');
    await configure({ webhooks_enabled: true });
    await chargeOk('k-on');
    await sandbox.state.webhooksIdle();
    expect([...receiver.byKey().keys()]).toEqual(['k-on']);
    expect((await deliveries()).sent).toHaveLength(1);
  });
});

describe('pm_card_refund_fails', () => {
  it('charges, then every refund of it fails and gives its amount back', async () => {
    const charge = await chargeOk('k-fragile', { ...visa, payment_method: 'pm_card_refund_fails' });
    expect(charge.body).toMatchObject({ status: 'succeeded', failure_code: null });
    const refund = { charge: charge.body.id, amount: 1000, currency: 'eur' };
    const failed = await refundOk('k-fragile-refund-1', refund);
    expect(failed.body).toMatchObject({ object: 'refund', status: 'failed', failure_code: 'refund_failed', failure_message: 'The refund could not be completed.' });
    expect(sandbox.state.charges.get(charge.body.id)?.refunded).toBe(0);
    // Nothing was refunded, so the whole amount can be tried again; the failure is replayed for its key.
    expect((await refundOk('k-fragile-refund-2', refund)).body.status).toBe('failed');
    expect(answered(await sandbox.refund('k-fragile-refund-1', refund)).body).toEqual(failed.body);
    expect(sandbox.executions('k-fragile-refund-1')).toBe(1);
  });
});

describe('signatures', () => {
  it('verify with the standardwebhooks library and the secret, and with no other secret or body', async () => {
    const charge = await chargeOk('k-signed');
    await refundOk('k-signed-refund', { charge: charge.body.id, amount: 1, currency: 'eur' });
    await sandbox.state.webhooksIdle();
    expect(receiver.received).toHaveLength(2);
    for (const { body, headers, event } of receiver.received) {
      const signed = {
        'webhook-id': headers['webhook-id'] as string,
        'webhook-timestamp': headers['webhook-timestamp'] as string,
        'webhook-signature': headers['webhook-signature'] as string,
      };
      expect(signed['webhook-id']).toBe(event.id);
      expect(Math.abs(Number(signed['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
      expect(signed['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
      expect(new Webhook(secret).verify(body, signed)).toEqual(event);
      expect(() => new Webhook(newSecret()).verify(body, signed)).toThrow(/No matching signature/);
      expect(() => new Webhook(secret).verify(body.replace('"object":"event"', '"object":"evenT"'), signed)).toThrow(/No matching signature/);
      expect(() => new Webhook(secret).verify(body, { ...signed, 'webhook-id': 'evt_other' })).toThrow(/No matching signature/);
    }
  });

  it('a retried delivery is signed again with its new timestamp, under the same id and body', async () => {
    receiver.answering = (n) => (n === 0 ? 500 : 200);
    await configure({ webhook_retry_interval_ms: 1_100 });
    await chargeOk('k-resigned');
    await sandbox.state.webhooksIdle();
    const [first, second] = receiver.received;
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.body).toBe(first.body);
    expect(Number(second.headers['webhook-timestamp'])).toBeGreaterThan(Number(first.headers['webhook-timestamp']));
    for (const { body, headers } of [first, second]) expect(() => new Webhook(secret).verify(body, headers as Record<string, string>)).not.toThrow();
  });
});

describe('delivery knobs', () => {
  it('webhook_duplicate_rate 1 delivers every event twice with the same id and bytes', async () => {
    await configure({ webhook_duplicate_rate: 1 });
    for (let i = 0; i < 5; i++) await chargeOk(`k-dup-${i}`);
    await sandbox.state.webhooksIdle();
    const byKey = receiver.byKey();
    expect(byKey.size).toBe(5);
    for (const [key, ids] of byKey) {
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBe(ids[1]);
      const bodies = receiver.received.filter((r) => r.event.data.object.idempotency_key === key).map((r) => r.body);
      expect(bodies[0]).toBe(bodies[1]);
    }
    const { sent, pending } = await deliveries();
    expect(pending).toBe(0);
    expect(sent).toHaveLength(10);
    expect(sent.every((d: { delivered: boolean; attempts: number }) => d.delivered && d.attempts === 1)).toBe(true);
  });

  it('webhook_duplicate_rate 0.5 duplicates some events, not all', async () => {
    await configure({ webhook_duplicate_rate: 0.5 });
    for (let i = 0; i < 20; i++) await chargeOk(`k-half-${i}`);
    await sandbox.state.webhooksIdle();
    const counts = [...receiver.byKey().values()].map((ids) => ids.length);
    expect(counts).toHaveLength(20);
    expect(counts.filter((n) => n === 2).length).toBeGreaterThan(0);
    expect(counts.filter((n) => n === 1).length).toBeGreaterThan(0);
    expect(counts.every((n) => n === 1 || n === 2)).toBe(true);
  });

  it('webhook_reorder_rate 1 lets later events overtake earlier ones; at 0 they arrive in order', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `k-order-${i}`);
    const arrival = () => receiver.received.map((r) => r.event.data.object.idempotency_key);

    for (const key of keys) await chargeOk(key);
    await sandbox.state.webhooksIdle();
    expect(arrival()).toEqual(keys);

    receiver.clear();
    await sandbox.request('POST', '/__sandbox/reset');
    await configure({ webhook_url: receiver.url, webhook_signing_secret: secret, webhook_reorder_rate: 1, webhook_reorder_max_ms: 300 });
    for (const key of keys) await chargeOk(key);
    await sandbox.state.webhooksIdle();
    expect([...arrival()].sort()).toEqual(keys);
    expect(arrival()).not.toEqual(keys);
  });

  it('webhook_delay_ms holds every event back; without webhook_before_response the answer comes first', async () => {
    await configure({ webhook_delay_ms: 150 });
    const started = performance.now();
    await chargeOk('k-delayed');
    const answeredAt = performance.now();
    expect(receiver.received).toHaveLength(0);
    await sandbox.state.webhooksIdle();
    expect(receiver.received[0].at).toBeGreaterThan(answeredAt);
    expect(receiver.received[0].at - started).toBeGreaterThanOrEqual(140);
  });

  it('webhook_before_response delivers the event before the charge or refund is answered, even when delayed', async () => {
    await configure({ webhook_before_response: true, webhook_delay_ms: 100 });
    const charge = await chargeOk('k-early');
    const chargeAnsweredAt = performance.now();
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0].at).toBeLessThan(chargeAnsweredAt);
    await refundOk('k-early-refund', { charge: charge.body.id, amount: 10, currency: 'eur' });
    const refundAnsweredAt = performance.now();
    expect(receiver.received.map((r) => r.event.type)).toEqual(['charge.succeeded', 'refund.succeeded']);
    expect(receiver.received[1].at).toBeLessThan(refundAnsweredAt);
  });

  it('webhook_before_response waits no longer than the attempt timeout for a receiver that never answers', async () => {
    receiver.answering = (n) => (n === 0 ? 'hang' : 200);
    await configure({ webhook_before_response: true, webhook_timeout_ms: 200 });
    const started = performance.now();
    await chargeOk('k-early-hung');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_000);
    await sandbox.state.webhooksIdle();
    const [delivery] = (await deliveries()).sent;
    expect(delivery).toMatchObject({ attempts: 2, last_status: 200, last_error: null, delivered: true });
  });

  it('retries a delivery that got no 2xx until it does: 500, 500, 200 is three attempts of one event', async () => {
    receiver.answering = (n) => (n < 2 ? 500 : 200);
    await chargeOk('k-retried');
    await sandbox.state.webhooksIdle();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect((await deliveries()).sent).toEqual([
      { id: receiver.received[0].event.id, type: 'charge.succeeded', attempts: 3, last_status: 200, last_error: null, delivered: true },
    ]);
  });

  it('gives up after webhook_retries, waiting webhook_retry_interval_ms between attempts', async () => {
    receiver.answering = () => 503;
    await configure({ webhook_retries: 2, webhook_retry_interval_ms: 100 });
    await chargeOk('k-given-up');
    await sandbox.state.webhooksIdle();
    expect(receiver.received).toHaveLength(3);
    const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i].at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(90);
    expect((await deliveries()).sent).toEqual([expect.objectContaining({ attempts: 3, last_status: 503, delivered: false })]);

    receiver.clear();
    receiver.answering = () => 500;
    await configure({ webhook_retries: 0 });
    await chargeOk('k-no-retries');
    await sandbox.state.webhooksIdle();
    expect(receiver.received).toHaveLength(1);
  });

  it('follows no redirect: a 3xx is not delivered and is retried at the same URL', async () => {
    receiver.answering = (n) => (n === 0 ? { redirect: '/elsewhere' } : 200);
    await chargeOk('k-redirected');
    await sandbox.state.webhooksIdle();
    expect(receiver.received.map((r) => r.path)).toEqual(['/hooks', '/hooks']);
    expect((await deliveries()).sent).toEqual([expect.objectContaining({ attempts: 2, last_status: 200, delivered: true })]);
  });

  it('survives a receiver that refuses connections or times out, and keeps serving', async () => {
    await configure({ webhook_url: `http://127.0.0.1:${await closedPort()}/hooks`, webhook_retries: 1 });
    await chargeOk('k-refused');
    receiver.answering = () => 'hang';
    await configure({ webhook_url: receiver.url, webhook_timeout_ms: 100 });
    await chargeOk('k-timed-out');
    await sandbox.state.webhooksIdle();
    const [refused, timedOut] = (await deliveries()).sent;
    expect(refused).toMatchObject({ attempts: 2, last_status: null, delivered: false, last_error: expect.stringMatching(/ECONNREFUSED|refused/i) });
    expect(timedOut).toMatchObject({ attempts: 2, last_status: null, delivered: false, last_error: expect.stringMatching(/timeout|abort/i) });
    receiver.answering = () => 200;
    await chargeOk('k-after');
    await sandbox.state.webhooksIdle();
    expect((await deliveries()).sent[2]).toMatchObject({ delivered: true });
  });

  it('draws from its own seeded stream: the faults for a seed stay the same with webhooks on', async () => {
    const run = async (webhooks: Record<string, unknown>) => {
      await sandbox.request('POST', '/__sandbox/reset');
      await configure({ error_rate: 0.3, rate_limit_rate: 0.2, seed: 42, ...webhooks });
      const statuses = [];
      for (let i = 0; i < 30; i++) statuses.push(answered(await sandbox.charge(`k-seeded-${i}`)).status);
      await sandbox.state.webhooksIdle();
      return statuses;
    };
    const without = await run({});
    const withWebhooks = await run({ webhook_url: receiver.url, webhook_signing_secret: secret, webhook_duplicate_rate: 0.5, webhook_reorder_rate: 0.5 });
    expect(withWebhooks).toEqual(without);
    expect(receiver.received.length).toBeGreaterThan(without.filter((status) => status === 200).length);
  });
});

describe('reset and close', () => {
  it('reset forgets the deliveries and stops those still waiting; nothing from before arrives after', async () => {
    receiver.answering = () => 500;
    await configure({ webhook_retry_interval_ms: 60_000, webhook_duplicate_rate: 1 });
    await chargeOk('k-before-reset');
    await vi.waitFor(() => expect(receiver.received).toHaveLength(2));
    expect((await deliveries()).pending).toBe(2);
    await sandbox.request('POST', '/__sandbox/reset');
    expect(await deliveries()).toEqual({ sent: [], pending: 0 });
    await sandbox.state.webhooksIdle();
    // The knobs set at run time are gone: this sandbox was started without a URL.
    await chargeOk('k-after-reset');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(2);
    expect(await deliveries()).toEqual({ sent: [], pending: 0 });
  });

  it('an execution still running at a reset does not announce into the new state', async () => {
    await configure({ latency_ms: 200 });
    const pending = sandbox.charge('k-straddling');
    await vi.waitFor(() => expect(sandbox.state.requests.get('POST /v1/charges')).toBe(1));
    await sandbox.request('POST', '/__sandbox/reset');
    await configure({ webhook_url: receiver.url, webhook_signing_secret: secret });
    expect(answered(await pending).status).toBe(200);
    await sandbox.state.webhooksIdle();
    expect(receiver.received).toHaveLength(0);
    expect((await deliveries()).sent).toEqual([]);
  });

  it('reset keeps the webhook knobs the sandbox was started with', async () => {
    const other = await startSandbox({ webhooks: { url: receiver.url, signingSecret: secret, retries: 5 } });
    try {
      await other.configure({ webhook_retries: 1, webhooks_enabled: false });
      await other.request('POST', '/__sandbox/reset');
      expect((await other.request('GET', '/__sandbox/config')).body).toMatchObject({
        webhook_url: receiver.url,
        webhook_signing_secret_set: true,
        webhooks_enabled: true,
        webhook_retries: 5,
      });
      answered(await other.charge('k-started-with'));
      await other.state.webhooksIdle();
      expect(receiver.byKey().get('k-started-with')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('close stops retries and in-flight sends at once, and sends nothing afterwards', async () => {
    const other = await startSandbox({ webhooks: { url: receiver.url, signingSecret: secret, retryIntervalMs: 60_000, beforeResponse: true, timeoutMs: 60_000 } });
    receiver.answering = (n) => (n === 0 ? 500 : 'hang');
    answered(await other.charge('k-closing-retry'));
    const held = other.charge('k-closing-inflight');
    await vi.waitFor(() => expect(receiver.received).toHaveLength(2));
    expect(other.state.deliveries.pending).toBe(2);
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    await held;
    await other.state.webhooksIdle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(2);
  });
});

describe('webhook config', () => {
  it('shows every webhook knob, the secret only as set or not, and takes partial updates', async () => {
    const shown = await configure({ webhook_delay_ms: 25, webhook_before_response: true });
    expect(shown.body).toMatchObject({
      webhook_url: receiver.url,
      webhook_signing_secret_set: true,
      webhooks_enabled: true,
      webhook_delay_ms: 25,
      webhook_duplicate_rate: 0,
      webhook_reorder_rate: 0,
      webhook_reorder_max_ms: 200,
      webhook_before_response: true,
      webhook_retries: 3,
      webhook_retry_interval_ms: 20,
      webhook_timeout_ms: 5000,
    });
    expect(shown.body).not.toHaveProperty('webhook_signing_secret');
    const read = await sandbox.request('GET', '/__sandbox/config');
    expect(read.body).toEqual(shown.body);
    const secretBody = secret.slice('whsec_'.length);
    for (const answer of [shown, read]) expect(JSON.stringify(answer.body)).not.toContain(secretBody);

    expect((await configure({ webhook_signing_secret: null })).body.webhook_signing_secret_set).toBe(false);
  });

  it.each([
    [{ webhook_url: 'ftp://example.test/hooks' }, 'webhook_url'],
    [{ webhook_url: 'not a url' }, 'webhook_url'],
    [{ webhook_url: 42 }, 'webhook_url'],
    [{ webhook_signing_secret: 'plain-secret' }, 'webhook_signing_secret'],
    [{ webhook_signing_secret: `whsec_${randomBytes(8).toString('base64')}` }, 'webhook_signing_secret'],
    [{ webhook_signing_secret: 'whsec_!!!!' }, 'webhook_signing_secret'],
    [{ webhooks_enabled: 'yes' }, 'webhooks_enabled'],
    [{ webhook_delay_ms: -1 }, 'webhook_delay_ms'],
    [{ webhook_duplicate_rate: 1.5 }, 'webhook_duplicate_rate'],
    [{ webhook_reorder_rate: '0.5' }, 'webhook_reorder_rate'],
    [{ webhook_reorder_max_ms: 2.5 }, 'webhook_reorder_max_ms'],
    [{ webhook_before_response: 1 }, 'webhook_before_response'],
    [{ webhook_retries: 21 }, 'webhook_retries'],
    [{ webhook_retry_interval_ms: null }, 'webhook_retry_interval_ms'],
    [{ webhook_timeout_ms: 0 }, 'webhook_timeout_ms'],
    [{ webhook_retries: 1, error_rate: 2 }, 'error_rate'],
    [{ webhook_delays_ms: 5 }, 'unknown field webhook_delays_ms'],
  ])('refuses %j with a 400 naming it, and changes nothing', async (knobs, named) => {
    const refused = await sandbox.configure({ webhook_retries: 7, latency_ms: 9, ...knobs });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain(named);
    expect(JSON.stringify(refused.body)).not.toContain(secret.slice('whsec_'.length));
    const config = (await sandbox.request('GET', '/__sandbox/config')).body;
    expect(config).toMatchObject({ webhook_retries: 3, latency_ms: 0, webhook_url: receiver.url, webhook_signing_secret_set: true });
  });

  it('the unknown-field message lists the webhook knobs too', async () => {
    const refused = await sandbox.configure({ nope: 1 });
    expect(refused.body.error.message).toContain('webhook_signing_secret');
    expect(refused.body.error.message).toContain('latency_ms');
  });
});

describe('webhooksFromEnv', () => {
  it('reads every webhook knob from its SANDBOX_WEBHOOK* variable', () => {
    expect(
      webhooksFromEnv({
        SANDBOX_WEBHOOK_URL: 'http://127.0.0.1:3000/provider-webhooks/sandbox',
        SANDBOX_WEBHOOK_SIGNING_SECRET: secret,
        SANDBOX_WEBHOOKS_ENABLED: 'false',
        SANDBOX_WEBHOOK_DELAY_MS: '10',
        SANDBOX_WEBHOOK_DUPLICATE_RATE: '0.2',
        SANDBOX_WEBHOOK_REORDER_RATE: '0.1',
        SANDBOX_WEBHOOK_REORDER_MAX_MS: '500',
        SANDBOX_WEBHOOK_BEFORE_RESPONSE: 'true',
        SANDBOX_WEBHOOK_RETRIES: '5',
        SANDBOX_WEBHOOK_RETRY_INTERVAL_MS: '250',
        SANDBOX_WEBHOOK_TIMEOUT_MS: '3000',
      }),
    ).toEqual({
      url: 'http://127.0.0.1:3000/provider-webhooks/sandbox',
      signingSecret: secret,
      enabled: false,
      delayMs: 10,
      duplicateRate: 0.2,
      reorderRate: 0.1,
      reorderMaxMs: 500,
      beforeResponse: true,
      retries: 5,
      retryIntervalMs: 250,
      timeoutMs: 3000,
    });
    expect(webhooksFromEnv({ SANDBOX_WEBHOOK_URL: '', PATH: '/usr/bin' })).toEqual({});
  });

  it.each([
    [{ SANDBOX_WEBHOOK_URL: 'localhost:3000' }, /^SANDBOX_WEBHOOK_URL must be an http\(s\) URL/],
    [{ SANDBOX_WEBHOOKS_ENABLED: 'yes' }, /^SANDBOX_WEBHOOKS_ENABLED must be true or false, got "yes"$/],
    [{ SANDBOX_WEBHOOK_DUPLICATE_RATE: '2' }, /^SANDBOX_WEBHOOK_DUPLICATE_RATE must be a number from 0 to 1/],
    [{ SANDBOX_WEBHOOK_RETRIES: ' ' }, /^SANDBOX_WEBHOOK_RETRIES must be/],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => webhooksFromEnv(env)).toThrow(message);
  });

  it('refuses a bad secret without repeating it', () => {
    const bad = 'whsec_c2hvcnQ=';
    expect(() => webhooksFromEnv({ SANDBOX_WEBHOOK_SIGNING_SECRET: bad })).toThrow(/^SANDBOX_WEBHOOK_SIGNING_SECRET must be a Standard Webhooks secret/);
    expect(() => webhooksFromEnv({ SANDBOX_WEBHOOK_SIGNING_SECRET: bad })).not.toThrow(/c2hvcnQ/);
  });
});
