#!/usr/bin/env node
/**
 * `npm run bench` (= `npm run -s build && node bench/run.mjs`): POST /v1/payments, create and replay,
 * on ceiling A, ceiling B, the NestJS peer and idempay, each alone, with the same load; writes
 * docs/BENCHMARKS.md. Needs only the machine's Postgres (127.0.0.1:5432, user postgres) and Redis
 * (127.0.0.1:6379). Exits non-zero when a correctness check fails; a missed target only says so.
 *
 * Then outbox delivery (bench/modes/outbox.mjs): events/s to a local receiver next to a bare baseline;
 * and inbox ingest (bench/modes/inbox.mjs): signed provider webhooks/s, durable, next to a bare ceiling.
 *
 * `--growth N[,N…]` and `--soak N` run the extra modes instead (bench/modes/); see the report's
 * "Other modes" for every setting.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBefore } from './lib/before.mjs';
import { measureServer } from './lib/measure.mjs';
import { checkBuilt, checkRedis } from './lib/preflight.mjs';
import { connectAdmin, serverFacts } from './lib/postgres.mjs';
import { killAll, ROOT, startSandbox } from './lib/processes.mjs';
import { renderReport } from './lib/report.mjs';
import { servers } from './lib/servers.mjs';
import { runGrowth } from './modes/growth.mjs';
import { runInbox } from './modes/inbox.mjs';
import { runOutbox } from './modes/outbox.mjs';
import { runSoak } from './modes/soak.mjs';

/** The last commit before issue 11 (request logs, metrics, tracing, rate limit): the default run measures it beside this one. */
const BEFORE_REF = 'e3ba822';

/** The default run is abandoned past this, so it always stops by itself. */
const RUN_TIME_LIMIT_MS = 15 * 60_000;

const say = (line = '') => process.stdout.write(`${line}\n`);

function readOptions() {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      sequential: { type: 'string' },
      servers: { type: 'string' },
      growth: { type: 'string' },
      soak: { type: 'string' },
      before: { type: 'string' },
    },
  });
  const env = process.env;
  const positive = (name, raw, fallback) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
    return value;
  };
  const list = (raw) => (raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : []);
  return {
    connections: positive('connections', values.connections ?? env.BENCH_CONNECTIONS, 64),
    seconds: positive('seconds', values.seconds ?? env.BENCH_SECONDS, 10),
    warmupSeconds: positive('warmup', values.warmup ?? env.BENCH_WARMUP_SECONDS, 2),
    sequential: positive('sequential', values.sequential ?? env.BENCH_SEQUENTIAL, 200),
    servers: list(values.servers ?? env.BENCH_SERVERS),
    growth: list(values.growth ?? env.BENCH_GROWTH).map((n) => positive('growth', n)),
    soak: (values.soak ?? env.BENCH_SOAK) ? positive('soak', values.soak ?? env.BENCH_SOAK) : undefined,
    before: values.before ?? env.BENCH_BEFORE_REF ?? BEFORE_REF,
  };
}

async function main() {
  const options = readOptions();
  checkBuilt();
  const admin = await connectAdmin();
  const runTag = Date.now().toString(36);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  const sandbox = await startSandbox();
  try {
    const ctx = { admin, sandbox, options, runTag, say };
    if (options.growth.length || options.soak) {
      if (options.growth.length) await runGrowth(ctx);
      if (options.soak) await runSoak(ctx);
      return;
    }
    await defaultRun(ctx);
  } finally {
    await sandbox.stop();
    await admin.end();
  }
}

async function defaultRun(ctx) {
  const { admin, options } = ctx;
  const wantsBefore = options.servers.length === 0 || options.servers.some((id) => id.startsWith('idempay-before'));
  const all = servers(ctx.runTag, wantsBefore ? await buildBefore(options.before, ctx.say) : undefined);
  const unknown = options.servers.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown server ${unknown.join(', ')}; there are ${all.map((s) => s.id).join(', ')}`);
  const chosen = options.servers.length ? all.filter((s) => options.servers.includes(s.id)) : all;
  if (chosen.some((s) => s.env?.REDIS_URL)) await checkRedis();

  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: the run passed ${RUN_TIME_LIMIT_MS / 60_000} minutes and was abandoned\n`);
    killAll();
    process.exit(1);
  }, RUN_TIME_LIMIT_MS);
  watchdog.unref();

  const facts = await serverFacts(admin);
  const started = performance.now();
  const results = [];
  for (const spec of chosen) results.push(await measureServer(spec, ctx));
  const outbox = await runOutbox(ctx);
  const inbox = await runInbox(ctx);
  const runSeconds = (performance.now() - started) / 1000;

  const written = chosen.length === all.length;
  const args = process.argv.slice(2);
  const report = renderReport({
    command: `npm install && npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}   # = npm run -s build && node bench/run.mjs`,
    machine: {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      nproc: availableParallelism(),
      node: process.version,
      postgres: facts.version,
      synchronousCommit: facts.synchronous_commit,
    },
    options,
    results,
    outbox,
    inbox,
    runSeconds,
    written,
  });
  say();
  say(report);
  if (written) await writeFile(DOC, report + (await keptNotes()));
  if ([...results, outbox, inbox].some((r) => r.checks.some(([, ok]) => !ok))) {
    process.stderr.write('bench: a correctness check failed\n');
    process.exitCode = 1;
  }
}

const DOC = join(ROOT, 'docs/BENCHMARKS.md');
/** Everything from this line on in docs/BENCHMARKS.md is written by hand (profiles, growth and soak runs) and kept. */
const KEPT = '<!-- written by hand below: kept by npm run bench -->';

async function keptNotes() {
  const doc = await readFile(DOC, 'utf8').catch(() => '');
  const at = doc.indexOf(KEPT);
  return `\n${at === -1 ? `${KEPT}\n` : doc.slice(at)}`;
}

main().catch((error) => {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exit(1);
});
