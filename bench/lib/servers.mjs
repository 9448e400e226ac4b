/** The servers under test, in the order they run; each gets a database of its own, made afresh. */
import { SCHEMA } from '../servers/ceiling-work.mjs';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export function servers(runTag) {
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
    {
      id: 'idempay',
      label: 'idempay',
      what: 'node dist/main.js with its defaults (migrations at boot, pool of 10, pg-boss; the rate limit on, in memory, with budgets the load never reaches), API-key authentication of a merchant made by its CLI',
      script: 'dist/main.js',
      database: 'idempay_bench',
      readyLine: 'idempay listening',
      charges: true,
      idempay: true,
    },
  ];
}
