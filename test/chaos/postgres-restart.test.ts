import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Idempay } from '../../sdk/src/index.js';
import { runMigrations } from '../../src/database/migrations.js';
import { LONG, recordFigures } from './figures.js';
import { ApiInstance, createMerchantWithCli, SandboxProcess, sleep } from './fleet.js';
import { History } from './history.js';
import { PostgresCluster, type ShutdownMode } from './postgres-cluster.js';

/**
 * Postgres restarted under load (issue 12, item 2): an SDK client keeps creating payments while the
 * suite's own cluster is stopped (fast, then immediate, which is a crash) and started again. The
 * API process stays up; the only errors are 503 problem+json with Retry-After, inside the restarts;
 * readiness goes false and comes back; and afterwards every payment acknowledged is in the database
 * once, executed at the provider once, and settled.
 */

const RESTARTS = LONG ? 10 : 2;
/** Load before, between and after the restarts. */
const GAP_MS = LONG ? 6_000 : 1_500;
/** Postgres stays down this long between stop and start, so every restart has an outage a 50 ms probe sees. */
const DOWN_MS = 300;
const WORKERS = LONG ? 8 : 6;
/**
 * How long after `pg_ctl start -w` returned a 503 may still come. It returns once the postmaster
 * accepts connections, and a request that met the outage answers at once (a refused connection, or
 * 57P03 while starting up), so what is left is a request whose failing query was sent just before
 * then and whose answer is written a moment later on a machine shared with other test runs.
 */
const GRACE_MS = 1_000;
const PROBE_EVERY_MS = 50;
/**
 * After each restart the reconcile run that was active when Postgres went away holds the queue until
 * pg-boss expires it (reconcile-timing.ts), so the 202s of a long run leave a backlog behind.
 */
const SETTLE_WITHIN_MS = LONG ? 60_000 : 20_000;

interface Window {
  mode: ShutdownMode;
  stopAt: number;
  startedAt: number;
}

interface Probe {
  sentAt: number;
  answeredAt: number;
  status: number | undefined;
  up: boolean;
}

let cluster: PostgresCluster | undefined;
let sandbox: SandboxProcess | undefined;
let instance: ApiInstance | undefined;
let databaseUrl: string;
let merchant: Awaited<ReturnType<typeof createMerchantWithCli>>;

beforeAll(async () => {
  // One charge in ten executes and is never answered: with no provider retry, its payment is a 202
  // `processing` that the reconciler settles by asking the sandbox.
  const sandboxStarted = SandboxProcess.start({ SANDBOX_CHARGE_THEN_FAIL_RATE: '0.1', SANDBOX_CHARGE_THEN_FAIL_MODE: 'hang' }).then((started) => (sandbox = started));
  cluster = await PostgresCluster.start();
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE idempay_chaos_test').finally(() => admin.end());
  databaseUrl = cluster.url('idempay_chaos_test');
  await runMigrations(databaseUrl);
  await sandboxStarted;
  [merchant, instance] = await Promise.all([
    createMerchantWithCli(databaseUrl),
    ApiInstance.start('a', {
      DATABASE_URL: databaseUrl,
      SANDBOX_URL: sandbox!.url,
      JOBS_ENABLED: 'true',
      RECONCILE_BASE_MS: '200',
      RECONCILE_MAX_MS: '1000',
      PROVIDER_TIMEOUT_MS: '500',
      PROVIDER_BUDGET_MS: '1000',
      PROVIDER_MAX_RETRIES: '0',
      // Not the breaker's test: when Postgres stops, no new charge starts while the hung ones time out,
      // a run of failures with no success between them that would open it for BREAKER_HALF_OPEN_AFTER_MS.
      BREAKER_CONSECUTIVE_FAILURES: '1000',
      BREAKER_FAILURE_RATIO: '0.95',
    }),
  ]);
});

afterAll(async () => {
  await instance?.stop().catch(() => undefined);
  await sandbox?.stop().catch(() => undefined);
  await cluster?.destroy();
});

it(
  `Postgres restarted ${RESTARTS} times under load (fast and immediate): only 503s with Retry-After inside the restarts, readiness false then true, every acknowledged payment stored once and settled`,
  async () => {
    const api = instance!;
    const history = new History();
    const started = performance.now();

    const probes: Probe[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const sentAt = performance.now();
        const status = await fetch(`${api.baseUrl}/health/ready`, { signal: AbortSignal.timeout(3_000) }).then(
          async (res) => (await res.arrayBuffer(), res.status),
          () => undefined,
        );
        probes.push({ sentAt, answeredAt: performance.now(), status, up: api.up });
        await sleep(PROBE_EVERY_MS);
      }
    })();

    const acknowledged: { key: string; id: string; status: number; attempts: number }[] = [];
    const gaveUp: { key: string; error: string }[] = [];
    let loading = true;
    const worker = async (w: number) => {
      // Enough retries to outlast a restart and a lease; Retry-After: 1 needs a cap of at least 1 s.
      const sdk = new Idempay({ apiKey: merchant.test_key, baseUrl: api.baseUrl, fetch: history.recordingFetch(), maxRetries: 30, retryBaseDelayMs: 50, retryMaxDelayMs: 2_000, timeoutMs: 10_000 });
      for (let n = 0; loading; n++) {
        const key = `restart-${w}-${n}-${randomUUID()}`;
        try {
          const payment = await sdk.payments.create({ amount: 1_000 + n, currency: 'eur', payment_method: 'pm_card_visa' }, { idempotencyKey: key });
          acknowledged.push({ key, id: payment.id, status: payment.lastResponse.status, attempts: payment.lastResponse.attempts });
        } catch (error) {
          gaveUp.push({ key, error: String(error) });
        }
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

    const windows: Window[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      await sleep(GAP_MS);
      const mode: ShutdownMode = i % 2 === 0 ? 'fast' : 'immediate';
      const stopAt = performance.now();
      await cluster!.restart(mode, DOWN_MS);
      windows.push({ mode, stopAt, startedAt: performance.now() });
    }
    await sleep(GAP_MS);
    loading = false;
    await load;
    const loadMs = performance.now() - started;

    // The 202s settle through the reconciler, and no key stays claimed.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    let open = -1;
    let openAfterLoad: number | undefined;
    const settleStarted = performance.now();
    try {
      while (open !== 0 && performance.now() - settleStarted < SETTLE_WITHIN_MS) {
        if (open > 0) await sleep(200);
        const { rows } = await db.query(
          `SELECT (SELECT count(*) FROM payments WHERE merchant_id = $1 AND status IN ('pending', 'processing'))
                + (SELECT count(*) FROM idempotency_keys WHERE merchant_id = $1 AND recovery_point <> 'finished') AS open`,
          [merchant.merchant_id],
        );
        open = Number(rows[0].open);
        openAfterLoad ??= open;
      }
    } finally {
      await db.end();
    }
    const settleMs = performance.now() - settleStarted;
    await sleep(3 * PROBE_EVERY_MS);
    probing = false;
    await prober;

    const inWindow = (at: number) => windows.find((w) => at >= w.stopAt && at <= w.startedAt + GRACE_MS);
    const when = (at: number) => `${Math.round(at - started)} ms into the run (restarts at ${windows.map((w) => `${Math.round(w.stopAt - started)}–${Math.round(w.startedAt - started)}`).join(', ')})`;

    // The API process never went down.
    expect(probes.filter((p) => !p.up).map((p) => when(p.sentAt))).toEqual([]);
    expect(api.up).toBe(true);

    // Every attempt got an answer; every one that was not a success is a 503 problem with Retry-After, during a restart.
    const attempts = history.exchanges;
    expect(attempts.filter((e) => e.status === undefined).map((e) => `${e.idempotencyKey}: ${e.error}`)).toEqual([]);
    const errors = attempts.filter((e) => e.status! >= 300);
    const wrong = errors.flatMap((e) => {
      const problems = [
        e.status !== 503 && `status ${e.status}`,
        !/^application\/problem\+json/.test(e.contentType ?? '') && `content-type ${e.contentType}`,
        !/^[0-9]+$/.test(e.retryAfter ?? '') && `Retry-After ${e.retryAfter}`,
        e.code !== 'service-unavailable' && `code ${e.code}`,
        !inWindow(e.answeredAt!) && `answered outside every restart (+${GRACE_MS} ms)`,
      ].filter(Boolean);
      return problems.length > 0 ? [`${e.idempotencyKey} at ${when(e.answeredAt!)}: ${problems.join(', ')}: ${e.text?.slice(0, 200)}`] : [];
    });
    expect(wrong).toEqual([]);

    // Readiness: false during each restart, true again after it, and true at the end.
    for (const [i, w] of windows.entries()) {
      const down = probes.filter((p) => p.status === 503 && p.answeredAt >= w.stopAt && p.answeredAt <= w.startedAt + GRACE_MS);
      const nextStop = windows[i + 1]?.stopAt ?? Infinity;
      const back = probes.filter((p) => p.status === 200 && p.sentAt > w.startedAt && p.answeredAt < nextStop);
      expect({ restart: i, mode: w.mode, notReady: down.length > 0, readyAgain: back.length > 0 }).toEqual({ restart: i, mode: w.mode, notReady: true, readyAgain: true });
    }
    expect(probes.filter((p) => p.status !== 200 && !inWindow(p.answeredAt)).map((p) => `${p.status} at ${when(p.answeredAt)}`)).toEqual([]);
    expect(probes.at(-1)?.status).toBe(200);

    // Every call ended in a success, and the history holds: one row and one execution per key, each answer's id stored once, all settled.
    expect(gaveUp).toEqual([]);
    expect(open).toBe(0);
    const verdict = await history.check({ databaseUrl, sandboxUrl: sandbox!.url, merchantId: merchant.merchant_id, settled: true, unlocked: true });
    expect(verdict.violations).toEqual([]);
    expect(verdict.acknowledged).toBe(acknowledged.length);
    const check = new pg.Client({ connectionString: databaseUrl });
    await check.connect();
    const stored = await check
      .query(`SELECT id, operation_id, status FROM payments WHERE merchant_id = $1 AND id = ANY($2::text[])`, [merchant.merchant_id, acknowledged.map((a) => a.id)])
      .finally(() => check.end());
    const byId = new Map(stored.rows.map((r: { id: string; operation_id: string; status: string }) => [r.id, r]));
    expect(stored.rowCount).toBe(acknowledged.length);
    expect(acknowledged.filter((a) => byId.get(a.id)?.operation_id !== a.key)).toEqual([]);
    const accepted = acknowledged.filter((a) => a.status === 202);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.filter((a) => !['succeeded', 'failed'].includes(byId.get(a.id)!.status))).toEqual([]);
    // The restarts were met: some calls needed retries to get through them.
    expect(errors.length).toBeGreaterThan(0);

    const latestAfterStart = Math.max(0, ...errors.map((e) => e.answeredAt! - inWindow(e.answeredAt!)!.startedAt));
    await recordFigures('postgres-restart', {
      requests: verdict.requests,
      calls: acknowledged.length,
      restarts: { fast: windows.filter((w) => w.mode === 'fast').length, immediate: windows.filter((w) => w.mode === 'immediate').length },
      restartMs: windows.map((w) => Math.round(w.startedAt - w.stopAt)),
      acknowledged: verdict.acknowledged,
      accepted202: accepted.length,
      openAfterLoad,
      errors503: errors.length,
      latestErrorAfterStartMs: Math.round(latestAfterStart),
      graceMs: GRACE_MS,
      maxAttemptsPerCall: Math.max(...acknowledged.map((a) => a.attempts)),
      readinessProbes: probes.length,
      notReadyProbes: probes.filter((p) => p.status !== 200).length,
      violations: verdict.violations.length,
      byKind: verdict.byKind,
      loadMs: Math.round(loadMs),
      settleMs: Math.round(settleMs),
      durationMs: Math.round(performance.now() - started),
    });
  },
  LONG ? 240_000 : 60_000,
);
