import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Idempay, IdempayError } from '../../sdk/src/index.js';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { runMigrations } from '../../src/database/migrations.js';
import { visa } from '../support/harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { LONG, recordFigures } from './figures.js';
import { ApiInstance, balancingFetch, CHAOS_TIMING, createMerchantWithCli, QUICK_JOBS, SandboxProcess, sleep, subscribe } from './fleet.js';
import { History } from './history.js';
import { untilQuiet } from './quiet.js';

/**
 * kill -9 at random moments, over and over, under an SDK client that creates and refunds with
 * retries: two instances take turns dying and coming back, so one is always up. At the end no key
 * was charged twice, nothing acknowledged is missing, no payment is refunded past its amount, no
 * key is left locked and every event reached the merchant's endpoint.
 */
const KILLS = LONG ? 200 : 10;
const WORKERS = 2;

let database: ScratchDatabase;
let sandbox: SandboxProcess;
let receiver: WebhookReceiver;
let merchant: CreatedMerchant;
const instances: ApiInstance[] = [];
const history = new History();

beforeAll(async () => {
  // Provider calls that take a while, so kills land inside them as well as between them.
  const sandboxStarted = SandboxProcess.start({ SANDBOX_LATENCY_MS: '40', SANDBOX_JITTER_MS: '80' }).then((started) => (sandbox = started));
  database = await createScratchDatabase('kill_cycles');
  await runMigrations(database.url);
  [merchant] = await Promise.all([createMerchantWithCli(database.url), sandboxStarted]);
  const env = {
    ...CHAOS_TIMING,
    DATABASE_URL: database.url,
    SANDBOX_URL: sandbox.url,
    ...QUICK_JOBS,
  };
  instances.push(...(await Promise.all(['a', 'b'].map((name) => ApiInstance.start(name, env)))));
  receiver = await WebhookReceiver.start();
  await subscribe(instances[0].baseUrl, merchant.test_key, receiver.url);
}, 90_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await sandbox?.stop();
  await receiver?.close();
  await database?.drop();
});

/** A merchant's app: the SDK retries each call, and when it gives up the app calls again with the same key. */
async function persist<T>(call: () => Promise<T>): Promise<T | IdempayError> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      // A final refusal (a refund over what is left) is an answer; anything else is tried again.
      if (error instanceof IdempayError && error.status < 500 && error.status !== 409 && error.status !== 429) return error;
      await sleep(100);
    }
  }
}

it(`${KILLS} kill -9s of two alternating instances under creates and refunds: nothing charged twice, lost, over-refunded, locked or undelivered`, async () => {
  const idempay = new Idempay({
    apiKey: merchant.test_key,
    baseUrl: 'http://idempay.invalid',
    fetch: history.recordingFetch(balancingFetch(instances)),
    maxRetries: 8,
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 1_000,
    timeoutMs: 5_000,
  });
  let running = true;
  const tally = { payments: 0, refunds: 0, refusals: 0 };

  const worker = async () => {
    while (running) {
      // A steady flow rather than all the CPU: the restarts must not starve on a two-core machine.
      await sleep(20 + Math.random() * 60);
      const amount = 1_000 + Math.floor(Math.random() * 9_000);
      const paymentKey = `pay-${randomUUID()}`;
      const payment = await persist(() => idempay.payments.create({ ...visa, amount }, { idempotencyKey: paymentKey }));
      if (payment instanceof IdempayError) throw payment;
      tally.payments++;
      if (payment.status !== 'succeeded') continue;
      // Two refunds whose sum may pass the amount: the second is then refused, never carried out.
      for (const share of [0.6, 0.6]) {
        const refundKey = `refund-${randomUUID()}`;
        const refund = await persist(() => idempay.refunds.create(payment.id, { amount: Math.floor(amount * share) }, { idempotencyKey: refundKey }));
        if (refund instanceof IdempayError) tally.refusals++;
        else tally.refunds++;
      }
    }
  };

  const started = Date.now();
  const load = Promise.all(Array.from({ length: WORKERS }, worker));
  for (let kill = 0; kill < KILLS; kill++) {
    await sleep(Math.random() * 250);
    const victim = instances[kill % 2];
    await victim.kill();
    await victim.start();
  }
  running = false;
  await load;

  await untilQuiet(database.url, merchant.merchant_id, receiver, LONG ? 120_000 : 30_000);
  const verdict = await history.check({
    databaseUrl: database.url,
    sandboxUrl: sandbox.url,
    merchantId: merchant.merchant_id,
    settled: true,
    unlocked: true,
    processedOnce: true,
    // A kill between the endpoint's 2xx and its record sends that event again: at least once, not exactly once.
    deliveries: { received: receiver.ids(), once: false },
  });
  const figures = {
    kills: instances.reduce((n, i) => n + i.kills, 0),
    restarts: instances.reduce((n, i) => n + i.starts, 0) - instances.length,
    workers: WORKERS,
    durationMs: Date.now() - started,
    paymentsAcknowledged: tally.payments,
    refundsAcknowledged: tally.refunds,
    refundsRefused: tally.refusals,
    eventsReceived: receiver.ids().length,
    eventsReceivedTwice: receiver.ids().length - new Set(receiver.ids()).size,
    ...verdict,
    violations: verdict.violations.length,
  };
  await recordFigures('kill-cycles', figures);
  expect(verdict.violations).toEqual([]);
  expect(figures.kills).toBe(KILLS);
  expect(tally.payments).toBeGreaterThan(KILLS);
  expect(tally.refunds).toBeGreaterThan(0);
}, LONG ? 900_000 : 120_000);
