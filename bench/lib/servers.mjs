/** The servers under test, in the order they run; each gets a database of its own, made afresh. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEMA } from '../servers/ceiling-work.mjs';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * idempay as users run it: logs at the default level (info: a JSON line per request) to a file, the
 * metrics endpoint on, the rate limit on with budgets the load never spends (so its check is measured,
 * not its refusals).
 */
const AS_USERS_RUN_IT = {
  LOG_LEVEL: 'info',
  METRICS_TOKEN: 'bench-metrics-token-0123456789',
  RATE_LIMIT_WRITES: '1000000',
  RATE_LIMIT_READS: '1000000',
};

/** `before`: idempay built at an earlier commit (bench/lib/before.mjs), measured next to this one. */
export function servers(runTag, before) {
  const logFile = (id) => join(tmpdir(), `idempay-bench-${runTag}-${id}.log`);
  return [
    {
      id: 'ceiling-a',
      label: 'ceiling A',
      what: 'bare Fastify + pg, no authentication; a replay is one SELECT; a create, that SELECT then key, payment and stored answer in one single-statement transaction; no provider call',
      script: 'bench/servers/ceiling-a.mjs',
      database: 'idempay_bench_a',
      readyLine: 'ceiling-a listening',
      schema: SCHEMA,
      charges: false,
    },
    {
      id: 'ceiling-b',
      label: 'ceiling B',
      what: "bare Fastify + pg, no authentication, doing idempay's work: the same SELECT, transaction 1 (key + pending payment), the charge at the sandbox (undici, key derived from the payment id), transaction 2 (outcome + stored answer), each transaction one statement",
      script: 'bench/servers/ceiling-b.mjs',
      database: 'idempay_bench_b',
      readyLine: 'ceiling-b listening',
      schema: SCHEMA,
      charges: true,
    },
    {
      id: 'peer',
      label: 'peer',
      what: "NestJS 12 on Fastify (the library works there unchanged) + @node-idempotency/nestjs 1.0.4 with @node-idempotency/storage-adapter-redis, in front of ceiling B's transaction 1, charge and transaction 2; replays come from Redis",
      script: 'bench/servers/peer-nest.mjs',
      database: 'idempay_bench_peer',
      readyLine: 'peer-nest listening',
      schema: SCHEMA,
      charges: true,
      env: { REDIS_URL, PEER_KEY_PREFIX: `idempay-bench-${runTag}` },
    },
    ...(before
      ? [
          {
            id: 'idempay-before',
            label: `idempay at ${before.commit.slice(0, 7)}`,
            what: `idempay built at ${before.commit.slice(0, 12)}, before its JSON request logs, metrics, tracing and rate limit, as users ran it: its defaults (LOG_LEVEL=info, Fastify's request log of two lines per request), stdout to a file`,
            script: 'dist/main.js',
            root: before.dir,
            database: 'idempay_bench_before',
            readyLine: 'idempay listening',
            charges: true,
            idempay: true,
            env: { LOG_LEVEL: 'info' },
            logFile: logFile('idempay-before'),
          },
        ]
      : []),
    {
      id: 'idempay',
      label: 'idempay',
      what: `node dist/main.js as users run it (migrations at boot, pool of 10, pg-boss; ${Object.entries(AS_USERS_RUN_IT).map(([k, v]) => `${k}=${k.endsWith('TOKEN') ? '…' : v}`).join(', ')}; stdout to a file), API-key authentication of a merchant made by its CLI`,
      script: 'dist/main.js',
      database: 'idempay_bench',
      readyLine: 'idempay listening',
      charges: true,
      idempay: true,
      env: AS_USERS_RUN_IT,
      logFile: logFile('idempay'),
    },
    // After idempay: of the two old builds it is compared with, one runs before it and one after.
    ...(before
      ? [
          {
            id: 'idempay-before-quiet',
            label: `idempay at ${before.commit.slice(0, 7)}, no request log`,
            what: `the same build with LOG_LEVEL=error, as the runs before issue 11 measured it: no request log at all`,
            script: 'dist/main.js',
            root: before.dir,
            database: 'idempay_bench_before_quiet',
            readyLine: 'idempay listening',
            charges: true,
            idempay: true,
            logFile: logFile('idempay-before-quiet'),
          },
        ]
      : []),
  ];
}
