import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { runMigrations } from '../../src/database/migrations.js';
import { visa } from '../support/harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { LONG, recordFigures } from './figures.js';
import { ApiInstance, CHAOS_TIMING, createMerchantWithCli, QUICK_JOBS, SandboxProcess, subscribe } from './fleet.js';
import { type Exchange, History } from './history.js';
import { query, untilQuiet } from './quiet.js';

/**
 * Two API processes on one Postgres, the sandbox as a third process: the same key sent to both at
 * once moves money once, and the background tasks both run (completer, reconciler, inbox worker,
 * webhook delivery) take each piece of work once.
 */
const SAME_KEY_CREATES = 200;
const ROUNDS = LONG ? 15 : 1;
const STRANDED_PER_CRASH = LONG ? 20 : 8;
const CRASHES = LONG ? 5 : 1;
const PROCESSING = LONG ? 100 : 12;

const PROVIDER_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

let database: ScratchDatabase;
let sandbox: SandboxProcess;
let receiver: WebhookReceiver;
let merchant: CreatedMerchant;
const instances: ApiInstance[] = [];
const history = new History();

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...CHAOS_TIMING,
    DATABASE_URL: database.url,
    SANDBOX_URL: sandbox.url,
    SANDBOX_WEBHOOK_SECRET: PROVIDER_SECRET,
    ...QUICK_JOBS,
    INBOX_SWEEP_INTERVAL_MS: '200',
    ...extra,
  };
}

function create(instance: ApiInstance, key: string, body: object = visa): Promise<Exchange> {
  return history.send(instance.baseUrl, 'POST', '/v1/payments', {
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${merchant.test_key}`, 'idempotency-key': key, 'content-type': 'application/json' },
  });
}

beforeAll(async () => {
  const sandboxStarted = SandboxProcess.start().then((started) => (sandbox = started));
  database = await createScratchDatabase('two_instances');
  await runMigrations(database.url);
  [merchant] = await Promise.all([createMerchantWithCli(database.url), sandboxStarted]);
  instances.push(...(await Promise.all(['a', 'b'].map((name) => ApiInstance.start(name, env())))));
  // The provider's webhooks reach one instance, as they would through one public URL; both work the inbox.
  await sandbox.configure({ webhook_url: `${instances[0].baseUrl}/provider-webhooks/sandbox`, webhook_signing_secret: PROVIDER_SECRET, webhook_duplicate_rate: 0.5 });
  receiver = await WebhookReceiver.start();
  await subscribe(instances[1].baseUrl, merchant.test_key, receiver.url);
}, 90_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await sandbox?.stop();
  await receiver?.close();
  await database?.drop();
});

it(`${SAME_KEY_CREATES} concurrent creates with one key, split over two instances: one payment, one charge, every answer the 201, its replay or a 409 with Retry-After`, async () => {
  // Slow enough at the provider that the requests overlap the one that holds the key.
  await sandbox.configure({ latency_ms: 300 });
  for (let round = 0; round < ROUNDS; round++) {
    const key = `same-${round}-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: SAME_KEY_CREATES }, (_, i) => create(instances[i % 2], key)));
    const created = answers.filter((a) => a.status === 201 && !a.replayed);
    expect(created, `round ${round}`).toHaveLength(1);
    for (const answer of answers) {
      if (answer.status === 409) {
        expect(answer.code).toBe('idempotency-key-in-use');
        expect(answer.retryAfter).toMatch(/^\d+$/);
      } else {
        expect([answer.status, answer.text]).toEqual([201, created[0].text]);
      }
    }
  }
  await sandbox.configure({ latency_ms: 0 });
  const verdict = await history.check({ databaseUrl: database.url, sandboxUrl: sandbox.url, merchantId: merchant.merchant_id });
  expect(verdict.violations).toEqual([]);
  expect(verdict.acknowledged).toBe(ROUNDS);
}, 120_000);

it('the background tasks of both instances take each stranded key, each payment to settle and each event to deliver once', async () => {
  // Keys stranded by a process that dies after charging: a third instance that kills itself there,
  // with requests in flight behind the one that reached the crash first.
  await sandbox.configure({ latency_ms: 300, jitter_ms: 200 });
  const stranded: string[] = [];
  for (let crash = 0; crash < CRASHES; crash++) {
    const doomed = await ApiInstance.start(`doomed-${crash}`, env({ JOBS_ENABLED: 'false', IDEMPAY_CRASH_AT: 'provider_called' }));
    const keys = Array.from({ length: STRANDED_PER_CRASH }, () => `stranded-${randomUUID()}`);
    const answers = await Promise.all(keys.map((key) => create(doomed, key)));
    expect(answers.every((a) => a.status === undefined)).toBe(true);
    stranded.push(...keys);
  }

  // Plain payments and a decline, for more events to deliver (before the slow provider opens the breaker).
  const plain = await Promise.all(
    Array.from({ length: 10 }, (_, i) => create(instances[i % 2], `plain-${randomUUID()}`, i === 0 ? { ...visa, payment_method: 'pm_card_declined' } : visa)),
  );
  expect(plain.map((a) => a.status)).toEqual(plain.map(() => 201));

  // A provider slower than the provider budget: the charges go through after the API gave up on
  // their answers (202), for the reconciler and the provider's webhooks to settle, racing each other
  // on both instances.
  await sandbox.configure({ latency_ms: 1_600, jitter_ms: 0 });
  const accepted = await Promise.all(Array.from({ length: PROCESSING }, (_, i) => create(instances[i % 2], `processing-${randomUUID()}`)));
  expect(accepted.map((a) => a.status)).toEqual(accepted.map(() => 202));
  await sandbox.configure({ latency_ms: 0 });

  await untilQuiet(database.url, merchant.merchant_id, receiver, LONG ? 120_000 : 30_000);

  const verdict = await history.check({
    databaseUrl: database.url,
    sandboxUrl: sandbox.url,
    merchantId: merchant.merchant_id,
    settled: true,
    unlocked: true,
    processedOnce: true,
    deliveries: { received: receiver.ids(), once: true },
  });
  expect(verdict.violations).toEqual([]);
  // Every stranded key that was claimed ended as a 201 (charged once, by the check above), finished by
  // a completer; a request the process died before claiming left nothing, which the check also proved.
  const finished = await query(database.url, `SELECT response_status FROM idempotency_keys WHERE key = ANY($1)`, [stranded]);
  expect(finished.length).toBeGreaterThanOrEqual(CRASHES);
  expect(finished.map((k) => k.response_status)).toEqual(finished.map(() => 201));
  const figures = {
    instances: 2,
    sameKeyRounds: ROUNDS,
    sameKeyCreates: ROUNDS * SAME_KEY_CREATES,
    strandedKeys: finished.length,
    processing202: PROCESSING,
    eventsDelivered: receiver.ids().length,
    ...verdict,
    violations: verdict.violations.length,
  };
  await recordFigures('two-instances', figures);
}, 240_000);
