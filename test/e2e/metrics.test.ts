import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AppConfig } from '../../src/config/app-config.js';
import { MetricsServer } from '../../src/metrics/metrics-server.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { InboxProcessor } from '../../src/webhooks/inbound/inbox-processor.js';
import { DeliveryWorker } from '../../src/webhooks/outbound/delivery-worker.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { type Scrape, scrape } from '../support/metrics-scrape.js';
import { eventFor, newSecret, postEvent, signedHeaders } from '../support/provider-events.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const TOKEN = 'metrics-token-for-the-tests';
const webhookSecret = newSecret();

/** Quick provider retries, and a breaker that stays closed unless a test asks otherwise. */
const BASE: Partial<AppConfig> = {
  metricsToken: TOKEN,
  providerTimeoutMs: 300,
  providerBudgetMs: 1_500,
  requestBudgetMs: 2_000,
  providerRetryBaseMs: 5,
  providerRetryMaxMs: 20,
  breakerConsecutiveFailures: 1_000,
  breakerMinimumCalls: 10_000,
  breakerWindowSize: 10_000,
};

async function withStack(overrides: Partial<AppConfig>, test: (stack: Stack) => Promise<void>): Promise<void> {
  const stack = await startStack({ ...BASE, ...overrides });
  try {
    await resetStack(stack);
    await test(stack);
  } finally {
    await stack.close();
  }
}

const metricsOf = (stack: Stack): Promise<Scrape> => scrape(`${stack.baseUrl}/metrics`, TOKEN);

const pay = (stack: Stack, key: string, idempotencyKey = randomUUID(), body: unknown = visa) =>
  call(stack.baseUrl, 'POST', '/v1/payments', body, { key, idempotencyKey });

/** Scrapes until `done` holds, for a gauge that moves while a call is in flight. */
async function scrapeUntil(stack: Stack, done: (metrics: Scrape) => boolean): Promise<Scrape> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const metrics = await metricsOf(stack);
    if (done(metrics)) return metrics;
    if (Date.now() > deadline) throw new Error(`the metrics never matched:\n${metrics.text}`);
    await sleep(20);
  }
}

const sandboxLane = { provider: 'sandbox', mode: 'test' };

describe('/metrics on the API port, behind METRICS_TOKEN', () => {
  let stack: Stack;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    stack = await startStack({
      ...BASE,
      sandboxWebhookSecrets: [webhookSecret],
      // One try: an event that fails once is dead. A locked payment fails a try at once.
      inboxMaxAttempts: 1,
      databaseLockTimeoutMs: 200,
      webhookAllowedHosts: ['127.0.0.1'],
      webhookRetryScheduleMs: [50],
      webhookAttemptTimeoutMs: 1_000,
    });
  });
  afterAll(() => stack.close());
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await resetStack(stack);
  });

  it('answers 401 problem+json without the token, with a wrong one or with an API key, and serves Prometheus text with it', async () => {
    const merchant = await createMerchant(stack);
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer not-the-metrics-token' }, { authorization: `Bearer ${merchant.test_key}` }, { authorization: TOKEN }]) {
      const refused = await call(stack.baseUrl, 'GET', '/metrics', undefined, { headers, spec: false });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(refused.body).toMatchObject({ status: 401, code: 'metrics-token-invalid', trace_id: expect.any(String) });
      expect(refused.text).not.toContain('idempay_');
    }
    const served = await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = await metricsOf(stack);
    for (const name of [
      'idempay_http_request_duration_seconds',
      'idempay_idempotency_requests_total',
      'idempay_provider_attempts_total',
      'idempay_provider_retries_total',
      'idempay_provider_calls_total',
      'idempay_provider_attempt_duration_seconds',
      'idempay_provider_refusals_total',
      'idempay_provider_breaker_state',
      'idempay_provider_bulkhead_in_flight',
      'idempay_provider_bulkhead_queued',
      'idempay_provider_webhooks_refused_total',
      'idempay_inbox_backlog',
      'idempay_inbox_dead',
      'idempay_outbox_lag_seconds',
      'idempay_webhook_delivery_lag_seconds',
      'idempay_webhook_delivery_attempts_total',
      'idempay_reconciler_backlog',
      'idempay_database_pool_in_use',
      'idempay_database_pool_waiting',
      'idempay_database_pool_max',
      'idempay_database_up',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(metrics.has(name), name).toBe(true);
    }
  });

  it('a create moves RED for its route template and idempotency `claimed`; its replay moves `replayed`; a reused key `reused`', async () => {
    const merchant = await createMerchant(stack);
    const route = { route: '/v1/payments', method: 'POST', status: '201' };
    const before = await metricsOf(stack);
    const key = randomUUID();
    const created = await pay(stack, merchant.test_key, key);
    expect(created.status).toBe(201);
    const replay = await pay(stack, merchant.test_key, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await pay(stack, merchant.test_key, key, { ...visa, amount: 1 })).status).toBe(422);
    const fetched = await call(stack.baseUrl, 'GET', `/v1/payments/${created.body.id}`, undefined, { key: merchant.test_key });
    expect(fetched.status).toBe(200);

    const after = await metricsOf(stack);
    const moved = (name: string, labels: Record<string, string>) => after.count(name, labels) - before.count(name, labels);
    expect(moved('idempay_http_request_duration_seconds_count', route)).toBe(2);
    expect(moved('idempay_http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(2);
    expect(moved('idempay_http_request_duration_seconds_sum', route)).toBeGreaterThan(0);
    expect(moved('idempay_http_request_duration_seconds_count', { route: '/v1/payments', method: 'POST', status: '422' })).toBe(1);
    // The route template, never the URL with the payment's id.
    expect(moved('idempay_http_request_duration_seconds_count', { route: '/v1/payments/:id', method: 'GET', status: '200' })).toBe(1);
    expect(after.text).not.toContain(created.body.id);
    expect(moved('idempay_idempotency_requests_total', { route: '/v1/payments', outcome: 'claimed' })).toBe(1);
    expect(moved('idempay_idempotency_requests_total', { route: '/v1/payments', outcome: 'replayed' })).toBe(1);
    expect(moved('idempay_idempotency_requests_total', { route: '/v1/payments', outcome: 'reused' })).toBe(1);
    expect(moved('idempay_provider_attempts_total', { provider: 'sandbox', operation: 'charge', outcome: 'succeeded' })).toBe(1);
    expect(moved('idempay_provider_calls_total', { provider: 'sandbox', operation: 'charge', outcome: 'succeeded' })).toBe(1);
    expect(moved('idempay_provider_attempt_duration_seconds_count', { provider: 'sandbox', operation: 'charge', outcome: 'succeeded' })).toBe(1);
  });

  it('unknown routes share one route label, whatever their path', async () => {
    const before = await metricsOf(stack);
    for (const path of ['/nowhere', `/v1/nothing/${randomUUID()}`]) {
      expect((await call(stack.baseUrl, 'GET', path, undefined, { spec: false })).status).toBe(404);
    }
    const after = await metricsOf(stack);
    const unmatched = { route: '(unmatched)', method: 'GET', status: '404' };
    expect(after.count('idempay_http_request_duration_seconds_count', unmatched) - before.count('idempay_http_request_duration_seconds_count', unmatched)).toBe(2);
    expect(after.text).not.toContain('/nowhere');
    expect(after.text).not.toContain('/v1/nothing');
  });

  it('an event received moves the inbox backlog; once it failed its one try it is dead; a payment of unknown outcome is in the reconciler backlog', async () => {
    const merchant = await createMerchant(stack);
    // Executed by the provider, its answer lost: the payment is processing, for the reconciler or the provider's webhook.
    stack.sandbox.configure({ chargeThenFailRate: 1 });
    const paid = await pay(stack, merchant.test_key);
    stack.sandbox.configure({ chargeThenFailRate: 0 });
    expect(paid.status).toBe(202);
    const before = await metricsOf(stack);
    expect(before.value('idempay_reconciler_backlog', { resource: 'payment' })).toBe(1);
    expect(before.value('idempay_reconciler_backlog', { resource: 'refund' })).toBe(0);
    expect(before.value('idempay_inbox_backlog')).toBe(0);
    expect(before.value('idempay_inbox_dead')).toBe(0);

    const event = await eventFor(stack, chargeKeyOf(paid.body.id));
    expect((await postEvent(stack.baseUrl, event.body, signedHeaders(webhookSecret, event.id, event.body))).status).toBe(200);
    const received = await metricsOf(stack);
    expect(received.value('idempay_inbox_backlog')).toBe(1);
    expect(received.value('idempay_database_up')).toBe(1);

    // The payment's row is held by another transaction: the try waits out the lock timeout and fails.
    const holder = new pg.Client({ connectionString: stack.config.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM payments WHERE id = $1 FOR UPDATE', [paid.body.id]);
      expect(await stack.app.get(InboxProcessor).runDue()).toBe(1);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const dead = await metricsOf(stack);
    expect(dead.value('idempay_inbox_backlog')).toBe(0);
    expect(dead.value('idempay_inbox_dead')).toBe(1);
    expect(dead.value('idempay_reconciler_backlog', { resource: 'payment' })).toBe(1);
  });

  it('an event not yet fanned out moves the outbox lag; a delivery moves the delivery attempts by outcome, and an overdue one the delivery lag', async () => {
    const merchant = await createMerchant(stack);
    const receiver = await WebhookReceiver.start((_request, n) => ({ status: n === 0 ? 500 : 204 }));
    receivers.push(receiver);
    await createEndpoint(stack.db, merchant.merchant_id, receiver.url);
    const before = await metricsOf(stack);
    expect(before.value('idempay_outbox_lag_seconds')).toBe(0);

    expect((await pay(stack, merchant.test_key)).status).toBe(201);
    await sleep(300);
    const waiting = await metricsOf(stack);
    expect(waiting.value('idempay_outbox_lag_seconds')).toBeGreaterThanOrEqual(0.3);
    expect(waiting.value('idempay_outbox_lag_seconds')).toBeLessThan(30);

    // The relay fans the event out and the first attempt fails: the delivery is due again 50 ms later.
    const worker = stack.app.get(DeliveryWorker);
    expect(await worker.runOnce()).toBe(1);
    await sleep(300);
    const overdue = await metricsOf(stack);
    expect(overdue.value('idempay_outbox_lag_seconds')).toBe(0);
    expect(overdue.value('idempay_webhook_delivery_lag_seconds')).toBeGreaterThanOrEqual(0.2);
    expect(overdue.count('idempay_webhook_delivery_attempts_total', { outcome: 'retrying' }) - before.count('idempay_webhook_delivery_attempts_total', { outcome: 'retrying' })).toBe(1);

    expect(await worker.runOnce()).toBe(1);
    const delivered = await metricsOf(stack);
    expect(delivered.value('idempay_webhook_delivery_lag_seconds')).toBe(0);
    expect(delivered.count('idempay_webhook_delivery_attempts_total', { outcome: 'delivered' }) - before.count('idempay_webhook_delivery_attempts_total', { outcome: 'delivered' })).toBe(1);
    expect(receiver.received).toHaveLength(2);
  });

  it('the pool gauges show its size, and a connection in use while a query holds one', async () => {
    const idle = await metricsOf(stack);
    expect(idle.value('idempay_database_pool_max')).toBe(stack.config.databasePoolSize);
    expect(idle.value('idempay_database_pool_waiting')).toBe(0);
    const busy = stack.db.query('SELECT pg_sleep(0.5)');
    const held = await scrapeUntil(stack, (m) => (m.value('idempay_database_pool_in_use') ?? 0) >= 1);
    expect(held.value('idempay_database_pool_in_use')).toBeLessThanOrEqual(stack.config.databasePoolSize);
    await busy;
  });
});

describe('provider metrics', () => {
  it('a provider that times out: each retry counted, every attempt timed, the call ends unknown, and the breaker opens (then refuses)', () =>
    withStack({ breakerConsecutiveFailures: 3, breakerHalfOpenAfterMs: 60_000 }, async (stack) => {
      const merchant = await createMerchant(stack);
      const before = await metricsOf(stack);
      expect(before.value('idempay_provider_breaker_state', sandboxLane)).toBe(0);
      stack.sandbox.configure({ timeoutRate: 1 });
      const slow = await pay(stack, merchant.test_key);
      expect(slow.status).toBe(202);

      const after = await metricsOf(stack);
      const moved = (name: string, labels: Record<string, string>) => after.count(name, labels) - before.count(name, labels);
      const charge = { provider: 'sandbox', operation: 'charge' };
      expect(moved('idempay_provider_attempts_total', { ...charge, outcome: 'transient' })).toBe(3);
      expect(moved('idempay_provider_retries_total', charge)).toBe(2);
      expect(moved('idempay_provider_calls_total', { ...charge, outcome: 'unknown' })).toBe(1);
      expect(moved('idempay_provider_attempt_duration_seconds_count', { ...charge, outcome: 'transient' })).toBe(3);
      // Each timed-out attempt took about the attempt timeout (300 ms).
      expect(moved('idempay_provider_attempt_duration_seconds_sum', { ...charge, outcome: 'transient' })).toBeGreaterThanOrEqual(0.8);
      expect(moved('idempay_provider_attempt_duration_seconds_bucket', { ...charge, outcome: 'transient', le: '0.25' })).toBe(0);
      expect(after.value('idempay_provider_breaker_state', sandboxLane)).toBe(2);
      expect(after.value('idempay_reconciler_backlog', { resource: 'payment' })).toBe(1);

      const refused = await pay(stack, merchant.test_key);
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('provider-unavailable');
      const open = await metricsOf(stack);
      expect(open.count('idempay_provider_refusals_total', { provider: 'sandbox', reason: 'breaker-open' }) - before.count('idempay_provider_refusals_total', { provider: 'sandbox', reason: 'breaker-open' })).toBe(1);
    }));

  it('a breaker past its open time reads half-open (its next call is a probe), and closed once a probe succeeds', () =>
    withStack({ breakerConsecutiveFailures: 1, breakerHalfOpenAfterMs: 300, providerMaxRetries: 0 }, async (stack) => {
      const merchant = await createMerchant(stack);
      stack.sandbox.configure({ errorRate: 1 });
      expect((await pay(stack, merchant.test_key)).status).toBe(202);
      expect((await metricsOf(stack)).value('idempay_provider_breaker_state', sandboxLane)).toBe(2);
      await sleep(400);
      expect((await metricsOf(stack)).value('idempay_provider_breaker_state', sandboxLane)).toBe(1);
      stack.sandbox.configure({ errorRate: 0 });
      expect((await pay(stack, merchant.test_key)).status).toBe(201);
      expect((await metricsOf(stack)).value('idempay_provider_breaker_state', sandboxLane)).toBe(0);
    }));

  it('a held provider call shows in the bulkhead in flight, one behind it as queued, and both gauges drop when they end', () =>
    withStack({ bulkheadLimit: 1, bulkheadQueue: 1, bulkheadMerchantShare: 1, providerTimeoutMs: 2_000, providerBudgetMs: 2_500, requestBudgetMs: 3_000 }, async (stack) => {
      const merchant = await createMerchant(stack);
      stack.sandbox.configure({ latencyMs: 700 });
      const first = pay(stack, merchant.test_key);
      const held = await scrapeUntil(stack, (m) => m.value('idempay_provider_bulkhead_in_flight', sandboxLane) === 1);
      expect(held.value('idempay_provider_bulkhead_queued', sandboxLane)).toBe(0);
      const second = pay(stack, merchant.test_key);
      await scrapeUntil(stack, (m) => m.value('idempay_provider_bulkhead_queued', sandboxLane) === 1 && m.value('idempay_provider_bulkhead_in_flight', sandboxLane) === 1);
      expect((await first).status).toBe(201);
      expect((await second).status).toBe(201);
      const done = await metricsOf(stack);
      expect(done.value('idempay_provider_bulkhead_in_flight', sandboxLane)).toBe(0);
      expect(done.value('idempay_provider_bulkhead_queued', sandboxLane)).toBe(0);
    }));

  it('lanes are labelled by provider and mode: the live lane has its own breaker and bulkhead', async () => {
    const stack = await startStack({ ...BASE }, { live: true });
    try {
      const metrics = await metricsOf(stack);
      expect(metrics.labelsOf('idempay_provider_breaker_state')).toEqual(
        expect.arrayContaining([sandboxLane, { provider: stack.config.providerName, mode: 'live' }]),
      );
      expect(metrics.value('idempay_provider_bulkhead_in_flight', { mode: 'live' })).toBe(0);
    } finally {
      await stack.close();
    }
  });
});

describe('where /metrics is served', () => {
  it('with METRICS_PORT: on its own port without a token, and no longer on the API port (404 like any unknown route)', () =>
    withStack({ metricsToken: undefined, metricsPort: 0 }, async (stack) => {
      const port = stack.app.get(MetricsServer).port;
      expect(port).toBeGreaterThan(0);
      const merchant = await createMerchant(stack);
      expect((await pay(stack, merchant.test_key)).status).toBe(201);
      const metrics = await scrape(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.count('idempay_http_request_duration_seconds_count', { route: '/v1/payments', method: 'POST', status: '201' })).toBeGreaterThanOrEqual(1);
      expect(metrics.value('idempay_database_up')).toBe(1);

      const onApiPort = await call(stack.baseUrl, 'GET', '/metrics', undefined, { spec: false });
      expect(onApiPort.status).toBe(404);
      expect(onApiPort.body.code).toBe('route-not-found');
      const elsewhere = await fetch(`http://127.0.0.1:${port}/v1/payments`);
      expect(elsewhere.status).toBe(404);
      expect(await elsewhere.json()).toMatchObject({ code: 'route-not-found' });
    }));

  it('with neither METRICS_TOKEN nor METRICS_PORT: not served (404 like any unknown route)', () =>
    withStack({ metricsToken: undefined }, async (stack) => {
      const res = await call(stack.baseUrl, 'GET', '/metrics', undefined, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('route-not-found');
    }));

  it('while Postgres is unreachable the scrape still answers: in-memory metrics, and idempay_database_up 0', async () => {
    const direct = new URL(inject('databaseUrl'));
    const proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    const stack = await startStack({ ...BASE, databaseUrl: proxy.url(direct.toString()), databasePoolTimeoutMs: 500 });
    try {
      expect((await metricsOf(stack)).value('idempay_database_up')).toBe(1);
      await proxy.cut();
      const started = performance.now();
      const down = await metricsOf(stack);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(down.value('idempay_database_up')).toBe(0);
      expect(down.has('idempay_http_request_duration_seconds')).toBe(true);
      expect(down.value('idempay_provider_breaker_state', sandboxLane)).toBe(0);
      expect(down.value('idempay_database_pool_max')).toBe(stack.config.databasePoolSize);
      await proxy.restore();
      expect((await metricsOf(stack)).value('idempay_database_up')).toBe(1);
    } finally {
      await proxy.restore();
      await stack.close();
      await proxy.close();
    }
  });
});
