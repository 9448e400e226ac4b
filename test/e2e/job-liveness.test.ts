import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/app-config.js';
import { runMigrations } from '../../src/database/migrations.js';
import { reconcileTiming } from '../../src/jobs/reconcile-timing.js';
import { PaymentReconciler } from '../../src/payments/payment-reconciler.js';
import { RefundReconciler } from '../../src/refunds/refund-reconciler.js';
import { startChildServer } from '../support/child-server.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';

/** Small budgets, so the bound is seconds: a run expires after 5 s, checked every 1 s, polled every 0.5 s. */
const env = {
  PROVIDER_TIMEOUT_MS: '300',
  PROVIDER_BUDGET_MS: '1000',
  REQUEST_BUDGET_MS: '1500',
  PROVIDER_RETRY_BASE_MS: '20',
  PROVIDER_RETRY_MAX_MS: '100',
  RECONCILE_BASE_MS: '200',
  // The sandbox hangs on purpose here: a breaker opening would only add its own delay.
  BREAKER_CONSECUTIVE_FAILURES: '1000',
  BREAKER_MINIMUM_CALLS: '10000',
  BREAKER_WINDOW_SIZE: '10000',
};
const config = loadConfig(env);
const timing = reconcileTiming(config);
const { providerTimeoutMs, providerBudgetMs, requestBudgetMs, providerRetryBaseMs, providerRetryMaxMs, reconcileBaseMs } = config;
const { breakerConsecutiveFailures, breakerMinimumCalls, breakerWindowSize } = config;
const policy = { providerTimeoutMs, providerBudgetMs, requestBudgetMs, providerRetryBaseMs, providerRetryMaxMs, reconcileBaseMs, breakerConsecutiveFailures, breakerMinimumCalls, breakerWindowSize };
/** For a loaded 2-core machine: the survivor's own boot and a slow query or two. */
const MARGIN_MS = 3_000;

// Its own database: the pg-boss state a killed instance leaves behind must not reach other files.
let database: ScratchDatabase;
let stack: Stack;
let survivor: Stack | undefined;

beforeAll(async () => {
  database = await createScratchDatabase('liveness');
  await runMigrations(database.url);
  stack = await startStack({ ...policy, databaseUrl: database.url });
});
beforeEach(() => resetStack(stack));
afterAll(async () => {
  await survivor?.close();
  await stack?.close();
  await database?.drop();
});

const activeRuns = async (): Promise<number> =>
  (await stack.db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'reconcile' AND state = 'active'`))[0].n;

/** Payments left `processing` (the provider's answer to the charge is lost) and due at once. */
async function processingPayments(count: number): Promise<string[]> {
  const merchant = await createMerchant(stack);
  await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(created.status).toBe(202);
    ids.push(created.body.id);
  }
  await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
  await stack.db.query(`UPDATE payments SET next_reconcile_at = now() WHERE status = 'processing'`);
  return ids;
}

describe('a reconcile run', () => {
  it('leases nothing after its window, so with the provider hanging it still ends inside its expiry', async () => {
    await processingPayments(6);
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { latency_ms: 60_000 }, { spec: false });
    const started = Date.now();
    const until = started + timing.runWindowMs;
    await stack.app.get(PaymentReconciler).runOnce(until);
    await stack.app.get(RefundReconciler).runOnce(until);
    const tookMs = Date.now() - started;

    expect(tookMs).toBeLessThan(timing.expireInSeconds * 1000);
    // Each lookup takes the whole 1 s budget: the window let one or two go, the rest wait for the next run.
    const asked: { n: number }[] = await stack.db.query(`SELECT count(*)::int AS n FROM payments WHERE reconcile_attempts > 0`);
    expect(asked[0].n).toBeGreaterThanOrEqual(1);
    expect(asked[0].n).toBeLessThanOrEqual(2);
    const untouched: { n: number }[] = await stack.db.query(
      `SELECT count(*)::int AS n FROM payments WHERE status = 'processing' AND reconcile_attempts = 0 AND next_reconcile_at <= now()`,
    );
    expect(untouched[0].n).toBe(6 - asked[0].n);
  });
});

describe('the reconcile job when the instance running it is killed', () => {
  it('another instance settles the payment the dead run held once its lease ends or within the takeover bound, whichever is later', async () => {
    expect(timing.takeoverMs).toBe(7_500);
    const [paymentId] = await processingPayments(1);
    // The provider now hangs: the run that picks the payment up stays inside its lookup.
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { latency_ms: 60_000 }, { spec: false });

    const holder = await startChildServer({ ...env, DATABASE_URL: database.url, SANDBOX_URL: stack.sandboxUrl, JOBS_ENABLED: 'true' });
    try {
      // The only instance with jobs holds the run, and the run holds the payment's lease (its
      // next_reconcile_at pushed past the short backoff) while it waits on the provider.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const [{ leased }] = await stack.db.query(`SELECT next_reconcile_at > now() + interval '1 second' AS leased FROM payments WHERE id = $1`, [paymentId]);
        if (leased && (await activeRuns()) === 1) break;
        if (Date.now() > deadline) throw new Error(`the child never ran the reconciler:\n${holder.output()}`);
        await sleep(25);
      }
    } finally {
      holder.process.kill('SIGKILL');
    }
    expect(await holder.exited).toBe('SIGKILL');
    const killedAt = Date.now();
    // Nobody else ran jobs: the run still active is the dead instance's.
    expect(await activeRuns()).toBe(1);
    const [{ due_in_ms: dueInMs }] = await stack.db.query(
      `SELECT greatest(0, extract(epoch FROM next_reconcile_at - now()) * 1000)::int AS due_in_ms FROM payments WHERE id = $1`,
      [paymentId],
    );
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { latency_ms: 0 }, { spec: false });

    survivor = await startStack({ ...policy, databaseUrl: database.url, sandboxUrl: stack.sandboxUrl, jobsEnabled: true });
    // The takeover clock started when the dead run did, before the kill; the lease may end after it.
    const limitMs = Math.max(dueInMs, timing.takeoverMs) + MARGIN_MS;
    let status = 'processing';
    while (status === 'processing' && Date.now() - killedAt < limitMs + 5_000) {
      await sleep(100);
      [{ status }] = await stack.db.query('SELECT status FROM payments WHERE id = $1', [paymentId]);
    }
    const settledAfterMs = Date.now() - killedAt;
    expect(status).toBe('succeeded');
    expect(settledAfterMs, `settled ${settledAfterMs} ms after the kill; due ${dueInMs} ms after it`).toBeLessThanOrEqual(limitMs);
    expect(stack.sandbox.executions.get(`${paymentId}:charge`)).toBe(1);
  }, 60_000);
});
