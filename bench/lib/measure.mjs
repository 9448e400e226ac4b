/**
 * One server, measured alone: a counting start (its DATABASE_URL through the wire counter, one
 * request at a time) for the per-request costs, then a direct start for throughput, CPU and memory.
 * Both starts share the server's database, and every answer of both goes to one AnswerBook.
 */
import { AnswerBook } from './answers.mjs';
import { keyMaker, load, sequential } from './load.mjs';
import { startCountingProxy } from './pg-wire-counter.mjs';
import { backendPids, connect, counters, databaseUrl, PG_HOST, PG_PORT, recreateDatabase, untilNoBackends } from './postgres.mjs';
import { cpuMs, cpuOfSet, rssKiB } from './proc.mjs';
import { createMerchant, startServer } from './processes.mjs';

/** A backend holds its statistics up to 10 s after its last flush while idle (PGSTAT_IDLE_INTERVAL). */
const STATS_SETTLE_MS = 11_000;
const WARM_UP_CREATES = 20;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `spec`: { id, label, script, database, readyLine, schema?, charges, idempay?, env? };
 * `ctx`: { admin, sandbox, options, runTag, say }. Returns the server's figures and its checks.
 */
export async function measureServer(spec, ctx) {
  const { admin, sandbox, options, say } = ctx;
  await recreateDatabase(admin, spec.database);
  if (spec.schema) {
    const client = await connect(spec.database);
    await client.query(spec.schema);
    await client.end();
  }
  await sandbox.reset();
  const book = new AnswerBook();
  const nextKey = keyMaker(`bench-${ctx.runTag}-${spec.id}`);
  const recordCreate = (key, status, body, headers) => book.recordCreate(key, status, body, headers);
  const recordReplay = (key, status, body, headers) => book.recordReplay(key, status, body, headers);
  let headers = { authorization: 'Bearer not-checked' };

  say(`${spec.label}: counting pass (${options.sequential} creates and replays, one at a time, Postgres through the wire counter)`);
  const proxy = await startCountingProxy(PG_HOST, PG_PORT);
  let server = await startServer(spec, ctx.sandbox.url, databaseUrl(spec.database, proxy.port));
  let perCreate;
  let perReplay;
  try {
    if (spec.idempay) headers = { authorization: `Bearer ${(await createMerchant(databaseUrl(spec.database))).test_key}` };
    await sequential({ url: server.url, headers, keys: Array.from({ length: WARM_UP_CREATES }, nextKey), onAnswer: recordCreate });
    const warmKeys = book.keys();
    if (warmKeys.length === 0) throw new Error(`${spec.label} created nothing in the warm-up: ${JSON.stringify([...book.unexpected])}`);

    // Replays first, on the warm-up's keys, so the wait below also flushes their statistics.
    const replayKeys = Array.from({ length: options.sequential }, (_, i) => warmKeys[i % warmKeys.length]);
    const r0 = await wireAndCluster(admin, spec.database, proxy);
    await sequential({ url: server.url, headers, keys: replayKeys, onAnswer: recordReplay });
    perReplay = perRequest(r0, await wireAndCluster(admin, spec.database, proxy), replayKeys.length);

    await sleep(STATS_SETTLE_MS);
    const c0 = await wireAndCluster(admin, spec.database, proxy);
    const createKeys = Array.from({ length: options.sequential }, nextKey);
    await sequential({ url: server.url, headers, keys: createKeys, onAnswer: recordCreate });
    const c1 = await wireAndCluster(admin, spec.database, proxy);
    // Its backends flush their transaction counts as they exit.
    await server.stop();
    await untilNoBackends(admin, spec.database);
    const { xacts } = await counters(admin, spec.database);
    perCreate = { ...perRequest(c0, c1, createKeys.length), xacts: (xacts - c0.xacts) / createKeys.length };
    if (proxy.counts.encrypted) throw new Error(`${spec.label}: ${proxy.counts.encrypted} Postgres connections negotiated TLS; the wire counter cannot read them`);
  } finally {
    await server.stop();
    await proxy.close();
  }

  say(`${spec.label}: throughput pass (${options.connections} connections, ${options.warmupSeconds} s warm-up + ${options.seconds} s, create then replay)`);
  server = await startServer(spec, ctx.sandbox.url, databaseUrl(spec.database));
  let create;
  let replay;
  let rssMiB;
  try {
    const run = (seconds, keyFor, onAnswer) => load({ url: server.url, headers, connections: options.connections, seconds, keyFor, onAnswer });
    await run(options.warmupSeconds, nextKey, recordCreate);
    const measuredKeys = [];
    const logBytes0 = server.logBytes();
    create = await withCpu(admin, spec.database, server.pid, () =>
      run(options.seconds, nextKey, (key, status, body, answerHeaders) => {
        recordCreate(key, status, body, answerHeaders);
        if (status === 201) measuredKeys.push(key);
      }),
    );
    create.logBytes = (server.logBytes() - logBytes0) / (create.ok + create.non2xx);
    if (measuredKeys.length === 0) throw new Error(`${spec.label} created nothing under load: ${JSON.stringify([...book.unexpected])}`);
    let next = 0;
    const replayKey = () => measuredKeys[next++ % measuredKeys.length];
    await run(options.warmupSeconds, replayKey, recordReplay);
    const logBytes1 = server.logBytes();
    replay = await withCpu(admin, spec.database, server.pid, () => run(options.seconds, replayKey, recordReplay));
    replay.logBytes = (server.logBytes() - logBytes1) / (replay.ok + replay.non2xx);
    rssMiB = rssKiB(server.pid) / 1024;
  } finally {
    await server.stop();
  }

  const stored = await storedPaymentIds(spec.database);
  const checks = book.checks(stored, spec.charges ? await sandbox.executions() : undefined);
  return { spec, create, replay, perCreate, perReplay, rssMiB, checks, unexpected: book.unexpected, refused: book.refused };
}

async function wireAndCluster(admin, database, proxy) {
  return { roundTrips: proxy.roundTrips(), ...(await counters(admin, database)) };
}

function perRequest(before, after, n) {
  return {
    roundTrips: (after.roundTrips - before.roundTrips) / n,
    writeCommits: (after.nextXid - before.nextXid) / n,
    walBytes: (after.walBytes - before.walBytes) / n,
    checkpointed: after.checkpoints > before.checkpoints,
  };
}

/** Runs `pass` and adds the CPU ms per answer of the server and of the database's backends. */
async function withCpu(admin, database, pid, pass) {
  const server0 = cpuMs(pid);
  const backends = cpuOfSet(await backendPids(admin, database));
  const result = await pass();
  const server1 = cpuMs(pid);
  const postgres = backends.delta(await backendPids(admin, database));
  const answers = result.ok + result.non2xx;
  return { ...result, serverCpuMs: (server1 - server0) / answers, postgresCpuMs: postgres.ms / answers, backendsGone: postgres.gone };
}

async function storedPaymentIds(database) {
  const client = await connect(database);
  try {
    return new Set((await client.query('SELECT id FROM payments')).rows.map((r) => r.id));
  } finally {
    await client.end();
  }
}
