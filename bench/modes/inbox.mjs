/**
 * Inbox ingest: provider webhooks (signed `charge.succeeded` events, each with a fresh id) posted to
 * idempay's `POST /provider-webhooks/sandbox` under the default run's load, next to the inbox
 * ceiling (bench/servers/inbox-ceiling.mjs) measured the same way in the same run. An event counts
 * once its 2xx came back, which idempay sends only after the row is committed (durable). The events
 * name no payment, so idempay's worker (running, as users run it) marks them ignored.
 */
import { createHmac, randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { connect, databaseUrl, recreateDatabase } from '../lib/postgres.mjs';
import { startServer } from '../lib/processes.mjs';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const KEY = Buffer.from(SECRET.slice('whsec_'.length), 'base64');

const INBOX_TABLE = `
  CREATE TABLE inbox_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider     text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    payload      text NOT NULL,
    status       text NOT NULL DEFAULT 'received',
    received_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_inbox_events_provider_event UNIQUE (provider, event_id)
  );
  CREATE INDEX ix_inbox_events_open ON inbox_events (received_at) WHERE status IN ('received', 'dead');`;

const SERVERS = [
  { id: 'inbox-ceiling', label: 'inbox ceiling', script: 'bench/servers/inbox-ceiling.mjs', database: 'idempay_bench_inbox_ceiling', readyLine: 'inbox-ceiling listening', schema: INBOX_TABLE },
  { id: 'idempay', label: 'idempay', script: 'dist/main.js', database: 'idempay_bench_inbox', readyLine: 'idempay listening' },
];

/** A signed event with a new id, as the sandbox provider sends one. */
function signedEvent(tag, n) {
  const id = `evt_bench_${tag}_${n}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const body = JSON.stringify({
    id,
    object: 'event',
    type: 'charge.succeeded',
    created: Number(timestamp),
    data: { object: { id: `ch_bench_${n}`, object: 'charge', amount: 5000, currency: 'eur', reference: null, status: 'succeeded', failure_code: null, failure_message: null, idempotency_key: `bench_${tag}_${n}` } },
  });
  const signature = createHmac('sha256', KEY).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` } };
}

async function ingest(url, connections, seconds, tag) {
  let n = 0;
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    requests: [{ method: 'POST', path: '/provider-webhooks/sandbox', setupRequest: (request) => ({ ...request, ...signedEvent(tag, ++n) }) }],
  });
  return { ok: result['2xx'], rps: result['2xx'] / result.duration, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

export async function runInbox(ctx) {
  const { admin, sandbox, options, say } = ctx;
  const rows = [];
  const checks = [];
  for (const spec of SERVERS) {
    await recreateDatabase(admin, spec.database);
    if (spec.schema) {
      const db = await connect(spec.database);
      await db.query(spec.schema);
      await db.end();
    }
    const server = await startServer({ ...spec, env: { SANDBOX_WEBHOOK_SECRET: SECRET } }, sandbox.url, databaseUrl(spec.database));
    let pass;
    try {
      say(`inbox ingest: ${spec.label}, ${options.connections} connections, ${options.warmupSeconds} s warm-up then ${options.seconds} s`);
      await ingest(server.url, options.connections, options.warmupSeconds, `${ctx.runTag}w${spec.id}`);
      pass = await ingest(server.url, options.connections, options.seconds, `${ctx.runTag}${spec.id}`);
    } finally {
      await server.stop();
    }
    const db = await connect(spec.database);
    const stored = Number((await db.query(`SELECT count(*) FROM inbox_events WHERE event_id LIKE $1`, [`evt_bench_${ctx.runTag}${spec.id}_%`])).rows[0].count);
    await db.end();
    rows.push({ spec, pass });
    // Every event answered 2xx is stored, once; a request cut off by the end of the pass may be stored unanswered.
    checks.push([`${spec.label}: every one of the ${pass.ok} events answered 2xx is stored once (${stored} rows)`, stored >= pass.ok && stored <= pass.ok + options.connections]);
  }
  const [ceiling, idempay] = rows;
  return { rows, checks, ratio: idempay.pass.rps / ceiling.pass.rps };
}

/** The report's lines for the inbox pass. */
export function inboxSection({ rows, checks, ratio }) {
  const out = ['## Inbox ingest: POST /provider-webhooks/sandbox', ''];
  out.push('Signed provider events with fresh ids, the same autocannon load as above; an event counts when its 2xx came back (after its row was committed, `synchronous_commit=on`).');
  out.push('The inbox ceiling is bare Fastify + pg: the signature check on the raw bytes, then one INSERT … ON CONFLICT DO NOTHING, nothing else. idempay runs as users run it (job workers on, its pg-boss worker applying the events).');
  out.push('');
  out.push('| server | events/s | p50 ms | p99 ms | non-2xx | errors |');
  out.push('|:--|--:|--:|--:|--:|--:|');
  for (const { spec, pass } of rows) out.push(`| ${spec.label} | ${pass.rps.toFixed(0)} | ${pass.p50} | ${pass.p99} | ${pass.non2xx} | ${pass.errors} |`);
  out.push('');
  out.push(`idempay / inbox ceiling: ${ratio.toFixed(2)}`);
  out.push('');
  out.push('```');
  for (const [text, ok] of checks) out.push(`${ok ? 'ok  ' : 'FAIL'} ${text}`);
  out.push('```');
  out.push('');
  return out;
}
