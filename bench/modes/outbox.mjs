/**
 * Outbox delivery: how many events/s idempay's relay and delivery worker get from committed events
 * to a local receiver's 2xx (every delivery leased, signed, sent, and its attempt recorded), next to
 * a baseline measured in the same run: the same receiver fed by a bare loop of signed POSTs with the
 * same bodies and as many in flight as the worker allows (32), with no database at all.
 *
 * The events are written straight into idempay's `events` table in one transaction, unpublished,
 * with their payments, while idempay (JOBS_ENABLED, its pg-boss job driving the worker) and an
 * endpoint subscribed to everything are already there: the clock runs from that commit until every
 * delivery is recorded as delivered. The receiver, in this process, verifies every signature with
 * the `standardwebhooks` library, as a merchant would, in both passes. Bounded: BENCH_OUTBOX_EVENTS
 * (default 3000) each pass, and a pass gives up after 40 s.
 */
import { randomBytes } from 'node:crypto';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import { connect, databaseUrl, recreateDatabase } from '../lib/postgres.mjs';
import { createMerchant, startServer } from '../lib/processes.mjs';
import { servers } from '../lib/servers.mjs';

const EVENTS = Number(process.env.BENCH_OUTBOX_EVENTS || 3000);
const IN_FLIGHT = 32;
const PASS_LIMIT_MS = 40_000;
const DATABASE = 'idempay_bench_outbox';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A receiver on 127.0.0.1 that verifies each delivery and counts the event ids it saw. */
async function startReceiver(secret) {
  const verifier = new Webhook(secret);
  const seen = new Map();
  let rejected = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      try {
        verifier.verify(body, req.headers);
        const id = req.headers['webhook-id'];
        seen.set(id, (seen.get(id) ?? 0) + 1);
        res.writeHead(204).end();
      } catch {
        rejected++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    seen,
    get rejected() {
      return rejected;
    },
    get received() {
      let n = 0;
      for (const count of seen.values()) n += count;
      return n;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** A payment's v1 JSON, shaped like idempay's (the bodies of both passes are the same size). */
function paymentJson(id, at) {
  return JSON.stringify({
    id, object: 'payment', amount: 5000, amount_refunded: 0, currency: 'eur', status: 'succeeded', payment_method: 'pm_card_visa',
    description: null, metadata: {}, failure_code: null, failure_message: null, operation_id: `outbox-${id}`, livemode: false, created_at: at, updated_at: at,
  });
}

const hexId = (prefix, i) => `${prefix}_${i.toString(16).toUpperCase().padStart(26, '0')}`;

/** The baseline: signed POSTs of the same events from a bare loop, IN_FLIGHT at a time, no database. */
async function baseline(secret) {
  const receiver = await startReceiver(secret);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const at = new Date().toISOString();
  let next = 0;
  const started = performance.now();
  const deadline = Date.now() + PASS_LIMIT_MS;
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < EVENTS && Date.now() < deadline) {
          const i = ++next;
          const id = hexId('evt', i);
          const body = `{"id":"${id}","object":"event","type":"payment.succeeded","created_at":"${at}","livemode":false,"sequence":1,"data":{"object":${paymentJson(hexId('pay', i), at)}}}`;
          const timestamp = Math.floor(Date.now() / 1000);
          const signature = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
          const answer = await request(receiver.url, {
            method: 'POST',
            dispatcher: agent,
            headers: { 'content-type': 'application/json', 'user-agent': 'idempay-webhooks/1', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature },
            body,
          });
          await answer.body.dump();
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { delivered: receiver.received, seconds, perSecond: receiver.received / seconds, duplicates: [...receiver.seen.values()].filter((n) => n > 1).length, rejected: receiver.rejected };
  } finally {
    await agent.close();
    await receiver.close();
  }
}

/** idempay's relay and worker, from the events' commit to every delivery recorded. */
async function outbox(ctx, secret) {
  const { admin, sandbox } = ctx;
  const spec = servers(ctx.runTag).find((s) => s.idempay);
  await recreateDatabase(admin, DATABASE);
  const receiver = await startReceiver(secret);
  const server = await startServer(
    { ...spec, env: { ...spec.env, JOBS_ENABLED: 'true', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } },
    sandbox.url,
    databaseUrl(DATABASE),
  );
  const db = await connect(DATABASE);
  try {
    const merchant = await createMerchant(databaseUrl(DATABASE));
    const endpointId = hexId('we', 1);
    await db.query(
      `INSERT INTO webhook_endpoints (id, merchant_id, mode, url, enabled_events, created_at) VALUES ($1, $2, 'test', $3, '{*}', now() - interval '1 hour')`,
      [endpointId, merchant.merchant_id, receiver.url],
    );
    await db.query(`INSERT INTO webhook_endpoint_secrets (merchant_id, endpoint_id, secret) VALUES ($1, $2, $3)`, [merchant.merchant_id, endpointId, secret]);
    const at = new Date().toISOString();
    const ids = Array.from({ length: EVENTS }, (_, i) => i + 1);
    await db.query(
      `INSERT INTO payments (id, merchant_id, mode, operation_id, request_fingerprint, amount, currency, payment_method, metadata,
                             status, provider_key, provider_charge_id, created_at, updated_at)
       SELECT id, $1, 'test', 'outbox-' || id, md5(id), 5000, 'eur', 'pm_card_visa', '{}', 'succeeded', id || ':charge', 'ch_' || md5(id), now(), now()
         FROM unnest($2::text[]) AS id`,
      [merchant.merchant_id, ids.map((i) => hexId('pay', i))],
    );
    const started = performance.now();
    await db.query(
      `INSERT INTO events (id, merchant_id, mode, payment_id, sequence, type, resource)
       SELECT e.id, $1, 'test', e.payment_id, 1, 'payment.succeeded', e.resource
         FROM unnest($2::text[], $3::text[], $4::text[]) AS e(id, payment_id, resource)`,
      [merchant.merchant_id, ids.map((i) => hexId('evt', i)), ids.map((i) => hexId('pay', i)), ids.map((i) => paymentJson(hexId('pay', i), at))],
    );
    const committed = performance.now();
    const deadline = Date.now() + PASS_LIMIT_MS;
    let recorded = 0;
    while (Date.now() < deadline) {
      recorded = Number((await db.query(`SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'delivered'`)).rows[0].n);
      if (recorded >= EVENTS) break;
      await sleep(20);
    }
    const seconds = (performance.now() - committed) / 1000;
    const { rows } = await db.query(`SELECT count(*) FILTER (WHERE attempts <> 1) AS retried, count(*) FILTER (WHERE status <> 'delivered') AS undelivered FROM webhook_deliveries`);
    return {
      delivered: recorded,
      received: receiver.received,
      seconds,
      perSecond: recorded / seconds,
      insertMs: committed - started,
      duplicates: [...receiver.seen.values()].filter((n) => n > 1).length,
      rejected: receiver.rejected,
      retried: Number(rows[0].retried),
    };
  } finally {
    await db.end();
    await server.stop();
    await receiver.close();
  }
}

export async function runOutbox(ctx) {
  const { say } = ctx;
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  say(`outbox: baseline, ${EVENTS} signed POSTs from a bare loop (${IN_FLIGHT} in flight)`);
  const base = await baseline(secret);
  say(`outbox: idempay, ${EVENTS} committed events relayed and delivered`);
  const idempay = await outbox(ctx, secret);
  const checks = [
    [`baseline: all ${EVENTS} received once, every signature verified`, base.delivered === EVENTS && base.duplicates === 0 && base.rejected === 0],
    [`idempay: all ${EVENTS} events delivered and recorded, each received once, every signature verified by standardwebhooks`,
      idempay.delivered === EVENTS && idempay.received === EVENTS && idempay.duplicates === 0 && idempay.rejected === 0],
  ];
  return { events: EVENTS, inFlight: IN_FLIGHT, base, idempay, checks };
}

/** The report's section (Markdown lines). */
export function outboxSection(result) {
  const f0 = (n) => (Number.isFinite(n) ? n.toFixed(0) : '–');
  const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : '–');
  return [
    '## Outbox delivery: committed events to a local receiver',
    '',
    `${result.events} events, each to one endpoint on 127.0.0.1 whose receiver (in the bench process) verifies every ` +
      'signature with the `standardwebhooks` library and answers 204. **idempay**: `node dist/main.js` with JOBS_ENABLED ' +
      `and its defaults (WEBHOOK_POLL_INTERVAL_MS 500, ${result.inFlight} attempts in flight per worker); the events and their ` +
      'payments are inserted into its database in one transaction, unpublished, and the clock runs from that commit until every ' +
      'delivery is recorded `delivered` (relay, lease, SSRF check, signing, POST, attempt record). **baseline**: the same receiver fed ' +
      `by a bare loop of signed POSTs with the same bodies, ${result.inFlight} in flight, no database. Bounded by BENCH_OUTBOX_EVENTS.`,
    '',
    '| pass | events delivered | s | events/s |',
    '|:--|--:|--:|--:|',
    `| baseline (bare signed POSTs) | ${result.base.delivered} | ${f2(result.base.seconds)} | ${f0(result.base.perSecond)} |`,
    `| idempay outbox | ${result.idempay.delivered} | ${f2(result.idempay.seconds)} | ${f0(result.idempay.perSecond)} |`,
    '',
    `idempay / baseline: ${f2(result.idempay.perSecond / result.base.perSecond)}. Deliveries retried: ${result.idempay.retried}; ` +
      `inserting the events took ${f0(result.idempay.insertMs)} ms (not counted).`,
    '',
    '```',
    ...result.checks.map(([text, ok]) => `${ok ? 'ok  ' : 'FAIL'} outbox: ${text}`),
    '```',
    '',
  ];
}
