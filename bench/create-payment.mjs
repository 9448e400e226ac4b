#!/usr/bin/env node
/**
 * Benchmark of POST /v1/payments (create and replay) against GET /v1/payments/{id} as a baseline.
 *
 *   npm run -s build && node bench/create-payment.mjs
 *
 * Runs the built API (dist/main.js) as a child process on a Postgres database of its own,
 * `idempay_bench` at 127.0.0.1:5432 (user postgres), dropped and recreated at each start so runs are
 * comparable, with the sandbox provider in this process over HTTP. Loopback only. Every request loop
 * is bounded both in count and in time, so a run stays well under a minute on a 2-core machine.
 *
 * Prints, for each route, sequential latency (p50/p95/p99) and throughput at concurrency 16, with a
 * ratio against the GET baseline, and checks that nothing was charged twice and that every replay
 * was marked `idempotent-replayed: true` and carried the bytes of the original answer.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PG_HOST = '127.0.0.1';
const PG_PORT = 5432;
const DB_NAME = 'idempay_bench'; // never the test suite's `test` database
const DATABASE_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/${DB_NAME}`;

const WARMUP = 100;
const SEQUENTIAL = 500;
const CONCURRENT = 2000;
const CONCURRENCY = 16;
/** Upper bound on any one request loop, whatever its count. */
const LOOP_TIME_LIMIT_MS = 15_000;
/** The whole run is abandoned past this. */
const RUN_TIME_LIMIT_MS = 110_000;

const PAYMENT_BODY = JSON.stringify({ amount: 5000, currency: 'eur', payment_method: 'pm_card_visa' });

const say = (line = '') => process.stdout.write(`${line}\n`);
const fail = (message) => {
  process.stderr.write(`bench: ${message}\n`);
  process.exitCode = 1;
};

// ---------------------------------------------------------------------------------------------
// Stack: database, sandbox provider, API child process, merchant.

async function pgClient(database) {
  const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database, connectionTimeoutMillis: 5_000 });
  await client.connect();
  return client;
}

async function resetDatabase() {
  let admin;
  try {
    admin = await pgClient('postgres');
  } catch (error) {
    process.stderr.write(
      `bench: Postgres is not reachable at ${PG_HOST}:${PG_PORT} as user postgres (${error?.code ?? ''} ${error?.message ?? error}).\n` +
        `Start a Postgres there (trust auth for postgres on loopback) and run again.\n`,
    );
    process.exit(1);
  }
  try {
    const version = (await admin.query('SELECT version()')).rows[0].version;
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    return version;
  } finally {
    await admin.end();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startSandbox() {
  const { buildSandbox } = await import(join(ROOT, 'dist/sandbox-provider/sandbox-server.js'));
  const sandbox = buildSandbox();
  await sandbox.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = sandbox.app.server.address();
  return { ...sandbox, url: `http://127.0.0.1:${port}` };
}

async function startApi(sandboxUrl) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL, SANDBOX_URL: sandboxUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => code ?? signal);
  const deadline = Date.now() + 20_000;
  while (!output.includes('idempay listening')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the API did not start:\n${output}`);
    }
    await sleep(50);
  }
  return { child, exited, baseUrl: `http://127.0.0.1:${port}`, output: () => output };
}

async function createMerchant() {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'merchants', 'create', '--name', 'Bench'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL, LOG_LEVEL: 'error' },
    timeout: 20_000,
  });
  const line = stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Load generation.

/** Runs `count` requests one after another (or until the time limit); returns latencies in ms. */
async function sequential(count, makeRequest) {
  const latencies = [];
  const deadline = performance.now() + LOOP_TIME_LIMIT_MS;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const started = performance.now();
    await makeRequest(i);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

/** Runs `count` requests from `concurrency` workers (or until the time limit); returns throughput. */
async function concurrent(count, concurrency, makeRequest) {
  let next = 0;
  let done = 0;
  const latencies = [];
  const started = performance.now();
  const deadline = started + LOOP_TIME_LIMIT_MS;
  async function worker() {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      await makeRequest(i);
      latencies.push(performance.now() - t0);
      done++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { done, seconds, rps: done / seconds, latencies };
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank];
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const runStarted = performance.now();
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: the run passed ${RUN_TIME_LIMIT_MS / 1000} s and was abandoned\n`);
    process.exit(1);
  }, RUN_TIME_LIMIT_MS);
  watchdog.unref();

  if (!existsSync(join(ROOT, 'dist/main.js'))) {
    fail('dist/ is missing: run `npm run -s build` first');
    return;
  }

  const pgVersion = await resetDatabase();
  const sandbox = await startSandbox();
  let api;
  let client;
  const stop = async () => {
    let t0 = performance.now();
    if (client) await client.close().catch(() => {});
    const clientMs = performance.now() - t0;
    if (api && api.child.exitCode === null && api.child.signalCode === null) {
      t0 = performance.now();
      api.child.kill('SIGTERM');
      let timer;
      const code = await Promise.race([api.exited, new Promise((resolve) => (timer = setTimeout(resolve, 15_000, 'timeout')))]);
      clearTimeout(timer);
      const apiMs = performance.now() - t0;
      if (code === 'timeout') {
        api.child.kill('SIGKILL');
        say('shutdown: the API had not exited 15 s after SIGTERM and was killed');
      } else {
        say(`shutdown: client pool closed in ${clientMs.toFixed(0)} ms; API exited with ${code} ${apiMs.toFixed(0)} ms after SIGTERM`);
      }
    }
    await sandbox.app.close();
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      api?.child.kill('SIGKILL');
      process.exit(130);
    });
  }

  try {
    api = await startApi(sandbox.url);
    const merchant = await createMerchant();
    client = new Pool(api.baseUrl, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000 });
    const auth = `Bearer ${merchant.test_key}`;

    say(`idempay benchmark  ${new Date().toISOString()}`);
    say(`machine: ${availableParallelism()} CPUs, node ${process.version}`);
    say(`postgres: ${pgVersion}`);
    say(`database: ${DB_NAME} (recreated), API ${api.baseUrl}, sandbox ${sandbox.url}`);
    say(`per route: ${WARMUP} warm-up, ${SEQUENTIAL} sequential, ${CONCURRENT} at concurrency ${CONCURRENCY} (each loop capped at ${LOOP_TIME_LIMIT_MS / 1000} s)`);
    say();

    // Every request goes through here; anything but the expected answer is counted and sampled.
    const errors = new Map();
    const noteError = (what, detail) => {
      const entry = errors.get(what) ?? { count: 0, sample: detail };
      entry.count++;
      errors.set(what, entry);
    };

    /** Created payments by Idempotency-Key: the original body, to compare replays with. */
    const created = new Map();
    const paymentStatuses = new Map();
    let keySeq = 0;
    const runTag = Date.now().toString(36);

    async function create() {
      const key = `bench-${runTag}-${++keySeq}`;
      try {
        const res = await client.request({
          method: 'POST',
          path: '/v1/payments',
          headers: { authorization: auth, 'idempotency-key': key, 'content-type': 'application/json' },
          body: PAYMENT_BODY,
        });
        const text = await res.body.text();
        if (res.statusCode !== 201) return noteError(`create: HTTP ${res.statusCode}`, text.slice(0, 300));
        if (res.headers['idempotent-replayed'] !== undefined) noteError('create: first use marked as replayed', key);
        const payment = JSON.parse(text);
        created.set(key, { text, id: payment.id });
        paymentStatuses.set(payment.status, (paymentStatuses.get(payment.status) ?? 0) + 1);
      } catch (error) {
        noteError(`create: ${error.code ?? error.name}`, error.message);
      }
    }

    let replayKeys = [];
    let replayed = 0;
    let replayMarked = 0;
    let replaySameBytes = 0;
    async function replay(i) {
      const key = replayKeys[i % replayKeys.length];
      replayed++;
      try {
        const res = await client.request({
          method: 'POST',
          path: '/v1/payments',
          headers: { authorization: auth, 'idempotency-key': key, 'content-type': 'application/json' },
          body: PAYMENT_BODY,
        });
        const text = await res.body.text();
        if (res.statusCode !== 201) return noteError(`replay: HTTP ${res.statusCode}`, text.slice(0, 300));
        if (res.headers['idempotent-replayed'] === 'true') replayMarked++;
        else noteError('replay: no idempotent-replayed: true', key);
        if (text === created.get(key).text) replaySameBytes++;
        else noteError('replay: body differs from the original answer', `${key}: ${text.slice(0, 200)}`);
      } catch (error) {
        noteError(`replay: ${error.code ?? error.name}`, error.message);
      }
    }

    let getPath;
    async function get() {
      try {
        const res = await client.request({ method: 'GET', path: getPath, headers: { authorization: auth } });
        const text = await res.body.text();
        if (res.statusCode !== 200) noteError(`get: HTTP ${res.statusCode}`, text.slice(0, 300));
      } catch (error) {
        noteError(`get: ${error.code ?? error.name}`, error.message);
      }
    }

    // One payment to read back for the baseline.
    await create();
    const seeded = [...created.values()][0];
    if (!seeded) throw new Error(`could not create the payment for the GET baseline: ${JSON.stringify([...errors])}`);
    getPath = `/v1/payments/${seeded.id}`;

    const results = [];
    async function measure(name, request) {
      await sequential(WARMUP, request);
      const latencies = await sequential(SEQUENTIAL, request);
      const conc = await concurrent(CONCURRENT, CONCURRENCY, request);
      const row = {
        name,
        n: latencies.length,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        cn: conc.done,
        rps: conc.rps,
        cp50: percentile(conc.latencies, 50),
        cp99: percentile(conc.latencies, 99),
      };
      results.push(row);
      say(
        `  ${name.padEnd(28)} seq n=${row.n} p50 ${row.p50.toFixed(2)} ms | c${CONCURRENCY} n=${row.cn} ${row.rps.toFixed(0)} req/s ` +
          `(${conc.seconds.toFixed(2)} s, p50 ${row.cp50.toFixed(1)} / p99 ${row.cp99.toFixed(1)} ms)`,
      );
    }

    say('running:');
    await measure('GET /v1/payments/{id}', get);
    await measure('POST /v1/payments (create)', create);
    replayKeys = [...created.keys()];
    await measure('POST /v1/payments (replay)', replay);
    say();

    // -------------------------------------------------------------------------------------------
    // The table.
    const base = results[0];
    const headers = ['route', 'seq n', 'p50 ms', 'p95 ms', 'p99 ms', 'p50 ×GET', `c${CONCURRENCY} n`, 'req/s', 'req/s ×GET'];
    const rows = results.map((r) => [
      r.name,
      String(r.n),
      r.p50.toFixed(2),
      r.p95.toFixed(2),
      r.p99.toFixed(2),
      (r.p50 / base.p50).toFixed(2),
      String(r.cn),
      r.rps.toFixed(0),
      (r.rps / base.rps).toFixed(2),
    ]);
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
    say(line(headers));
    say(`|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
    for (const r of rows) say(line(r));
    say();

    // -------------------------------------------------------------------------------------------
    // Correctness.
    const executions = [...sandbox.state.executions.values()];
    const totalExecutions = executions.reduce((a, b) => a + b, 0);
    const chargedTwice = executions.filter((n) => n > 1).length;
    const distinctIds = new Set([...created.values()].map((c) => c.id)).size;
    const checks = [
      [`sandbox executions (${totalExecutions}) = distinct create keys (${created.size})`, totalExecutions === created.size],
      [`charge keys at the sandbox (${sandbox.state.executions.size}) = distinct create keys, none charged twice (${chargedTwice})`, sandbox.state.executions.size === created.size && chargedTwice === 0],
      [`distinct payment ids (${distinctIds}) = distinct create keys`, distinctIds === created.size],
      [`replays with idempotent-replayed: true: ${replayMarked} of ${replayed}`, replayed > 0 && replayMarked === replayed],
      [`replays byte-identical to the original answer: ${replaySameBytes} of ${replayed}`, replayed > 0 && replaySameBytes === replayed],
      [`requests with an unexpected answer: ${[...errors.values()].reduce((a, e) => a + e.count, 0)}`, errors.size === 0],
    ];
    say('correctness:');
    for (const [text, ok] of checks) say(`  ${ok ? 'ok  ' : 'FAIL'} ${text}`);
    say(`  created payments by status: ${JSON.stringify(Object.fromEntries(paymentStatuses))}`);
    for (const [what, { count, sample }] of errors) say(`  error ${what}: ${count}× e.g. ${sample}`);
    const serverOutput = api.output().split('\n').filter((l) => l && !/idempay listening|demo merchant|try:|curl -s|the demo merchant exists/.test(l));
    if (serverOutput.length) {
      say(`  API output (${serverOutput.length} lines), first lines:`);
      for (const l of serverOutput.slice(0, 5)) say(`    ${l.slice(0, 300)}`);
    }
    say();
    say(`total run time ${((performance.now() - runStarted) / 1000).toFixed(1)} s`);
    if (checks.some(([, ok]) => !ok)) fail('a correctness check failed');
  } finally {
    await stop();
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exit(1);
});
