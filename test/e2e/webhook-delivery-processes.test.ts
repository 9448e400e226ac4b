import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { DeliveryWorker } from '../../src/webhooks/outbound/delivery-worker.js';
import { type ChildServer, startChildServer } from '../support/child-server.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The delivery worker across real processes (the built server, JOBS_ENABLED=true, its pg-boss job
 * driving the worker): what a kill -9 leaves behind is still delivered, and several instances
 * delivering at once send each event once.
 */
let stack: Stack;
let merchant: CreatedMerchant;
let hook: WebhookReceiver | undefined;
const children: ChildServer[] = [];

beforeAll(async () => {
  stack = await startStack({ webhookAllowedHosts: ['127.0.0.1'] });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});
afterEach(async () => {
  await Promise.all(children.splice(0).map(stop));
  await hook?.close();
});

async function stop(child: ChildServer): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
  await child.exited;
}

function child(env: Record<string, string> = {}): Promise<ChildServer> {
  return startChildServer({
    DATABASE_URL: stack.config.databaseUrl!,
    SANDBOX_URL: stack.sandboxUrl,
    JOBS_ENABLED: 'true',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_ATTEMPT_TIMEOUT_MS: '500',
    WEBHOOK_POLL_INTERVAL_MS: '50',
    ...env,
  }).then((started) => {
    children.push(started);
    return started;
  });
}

async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function killNine(server: ChildServer): Promise<void> {
  server.process.kill('SIGKILL');
  expect(await server.exited).toBe('SIGKILL');
}

describe('kill -9 between the business commit and the delivery', () => {
  it('the process that committed the payment dies before relaying its event: another instance delivers it', async () => {
    hook = await WebhookReceiver.start();
    await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    // Its worker looks only every minute: the payment's event is still unpublished when it dies.
    const first = await child({ WEBHOOK_POLL_INTERVAL_MS: '60000' });
    const paid = await call(first.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(paid.status).toBe(201);
    await killNine(first);
    expect(await stack.db.query(`SELECT published_at FROM events WHERE payment_id = $1`, [paid.body.id])).toEqual([{ published_at: null }]);
    expect(hook.received).toEqual([]);

    await child();
    // The dead instance's job run blocks the queue until pg-boss expires it (its window and attempt timeout, plus checks).
    await until(() => hook!.received.length === 1, 45_000, 'delivery by the second instance');
    const body = JSON.parse(hook.received[0].body);
    expect(body).toMatchObject({ type: 'payment.succeeded', sequence: 1, data: { object: paid.body } });
    await until(async () => (await stack.db.query(`SELECT status FROM webhook_deliveries`))[0].status === 'delivered', 5_000, 'recorded');
    expect(await stack.db.query(`SELECT status, attempts FROM webhook_deliveries`)).toEqual([{ status: 'delivered', attempts: 1 }]);
  }, 90_000);

  it('the process dies while sending: its lease runs out and another instance sends the delivery', async () => {
    let holding = true;
    hook = await WebhookReceiver.start(() => (holding ? { status: 200, delayMs: 60_000 } : { status: 200 }));
    await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    const first = await child();
    const paid = await call(first.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    await until(() => hook!.received.length === 1, 10_000, 'the first attempt');
    await killNine(first);
    holding = false;
    const [leased] = await stack.db.query(`SELECT status, attempts, leased_until > now() AS leased FROM webhook_deliveries`);
    expect(leased).toEqual({ status: 'pending', attempts: 0, leased: true });

    await child();
    await until(() => hook!.received.length === 2, 45_000, 'delivery by the second instance');
    expect(hook.ids()).toEqual([hook.ids()[0], hook.ids()[0]]);
    expect(JSON.parse(hook.received[1].body).data.object.id).toBe(paid.body.id);
    await until(async () => (await stack.db.query(`SELECT status FROM webhook_deliveries`))[0].status === 'delivered', 5_000, 'recorded');
    // The dead sender recorded nothing: one attempt on record, by the instance that finished it.
    expect(await stack.db.query(`SELECT attempt, http_status FROM webhook_delivery_attempts`)).toEqual([{ attempt: 1, http_status: 200 }]);
  }, 90_000);
});

describe('several instances delivering', () => {
  it('two API processes (and this one) delivering many events: a receiver always answering 2xx sees each event exactly once', async () => {
    hook = await WebhookReceiver.start();
    await createEndpoint(stack.db, merchant.merchant_id, hook.url);
    // What is checked is that no two workers take one delivery, not how fast a loaded machine answers:
    // an attempt cut by a 500 ms timeout on a busy CI machine is retried, as it must be, and sent twice.
    const patient = { WEBHOOK_ATTEMPT_TIMEOUT_MS: '10000' };
    await Promise.all([child(patient), child(patient)]);
    const worker = stack.app.get(DeliveryWorker);
    let creating = true;
    // This process's worker joins in, several passes at once, like duplicated job runs.
    const passes = Promise.all(
      [0, 1, 2].map(async () => {
        while (creating || hook!.received.length < 120) {
          await worker.runOnce();
          await sleep(10);
          if (!creating && Date.now() > deadline) return;
        }
      }),
    );
    const deadline = Date.now() + 60_000;
    for (let batch = 0; batch < 12; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, () => call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() })),
      );
    }
    creating = false;
    await until(() => hook!.received.length >= 120, 30_000, 'all 120 events');
    await passes;
    // Each attempt is recorded after its answer came back: under load that can trail the receiver by a while.
    await until(async () => (await stack.db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE attempts > 0`))[0].n >= 120, 10_000, 'all 120 attempts recorded');
    await sleep(200);
    const ids = hook.ids();
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
    const [{ delivered }] = await stack.db.query(`SELECT count(*) FILTER (WHERE status = 'delivered' AND attempts = 1)::int AS delivered FROM webhook_deliveries`);
    expect(delivered).toBe(120);
  }, 120_000);
});
