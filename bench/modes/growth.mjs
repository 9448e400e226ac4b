/**
 * `--growth N[,N…]`: does idempay slow down as its tables grow, and does its sweeper keep up? For
 * each N, idempay's database is preloaded with N finished idempotency keys and N payments of the
 * bench merchant, their created_at spread over twice the key TTL so that half are past it; then
 * create and replay p50 are measured one at a time and under load, and compared with the smallest N.
 *
 * The sweeper starts only SWEEPER_INTERVAL_MS after boot (60 s by default), later than this mode's
 * load; so unless that variable is set, it runs every second here, and its deletions overlap the
 * load. Its batch size (SWEEPER_BATCH_SIZE, default 1000) is left as configured.
 */
import { AnswerBook } from '../lib/answers.mjs';
import { keyMaker, load, percentile, sequential } from '../lib/load.mjs';
import { connect, databaseUrl, recreateDatabase } from '../lib/postgres.mjs';
import { createMerchant, startServer } from '../lib/processes.mjs';
import { servers } from '../lib/servers.mjs';

const BATCH = 1_000_000;
const P50_TARGET = 1.2;
const PRELOADED = 'growth-';

export async function runGrowth(ctx) {
  const { admin, sandbox, options, say } = ctx;
  const ttlHours = Number(process.env.IDEMPOTENCY_TTL_HOURS || 24);
  const spec = servers(ctx.runTag).find((s) => s.idempay);
  spec.env = { ...spec.env, SWEEPER_INTERVAL_MS: process.env.SWEEPER_INTERVAL_MS || '1000' };
  const sizes = [...new Set(options.growth)].sort((a, b) => a - b);
  const rows = [];
  let failed = false;

  for (const n of sizes) {
    say(`growth ${n}: preloading ${n} keys and payments`);
    await recreateDatabase(admin, spec.database);
    const merchant = await createMerchant(databaseUrl(spec.database));
    const db = await connect(spec.database);
    try {
      await preload(db, merchant.merchant_id, n, ttlHours, say);
      await sandbox.reset();
      const atBoot = await keyCounts(db, ttlHours);
      const server = await startServer(spec, sandbox.url, databaseUrl(spec.database));
      const book = new AnswerBook();
      const headers = { authorization: `Bearer ${merchant.test_key}` };
      const nextKey = keyMaker(`bench-${ctx.runTag}-growth${n}`);
      const row = { n, atBoot };
      try {
        const keys = Array.from({ length: options.sequential }, nextKey);
        row.seqCreate = percentile(await sequential({ url: server.url, headers, keys, onAnswer: (...a) => book.recordCreate(...a) }), 50);
        row.seqReplay = percentile(await sequential({ url: server.url, headers, keys: book.keys(), onAnswer: (...a) => book.recordReplay(...a) }), 50);

        row.before = await keyCounts(db, ttlHours);
        const create = await load({ url: server.url, headers, connections: options.connections, seconds: options.seconds, keyFor: nextKey, onAnswer: (...a) => book.recordCreate(...a) });
        row.after = await keyCounts(db, ttlHours);
        row.loadCreate = create.p50;
        row.createdPerSecond = create.rps;
        // Only the sweeper removes expired keys, and in a few seconds hardly any key crosses the TTL.
        row.deletedPerSecond = (row.before.expired - row.after.expired) / create.seconds;

        const replayKeys = book.keys();
        let next = 0;
        const replay = await load({
          url: server.url,
          headers,
          connections: options.connections,
          seconds: options.seconds,
          keyFor: () => replayKeys[next++ % replayKeys.length],
          onAnswer: (...a) => book.recordReplay(...a),
        });
        row.loadReplay = replay.p50;
      } finally {
        await server.stop();
      }
      const stored = new Set((await db.query(`SELECT id FROM payments WHERE operation_id NOT LIKE '${PRELOADED}%'`)).rows.map((r) => r.id));
      row.checks = book.checks(stored, await sandbox.executions());
      failed ||= row.checks.some(([, ok]) => !ok);
      rows.push(row);
    } finally {
      await db.end();
    }
  }

  const base = rows[0];
  const ratio = (row, field) => row[field] / base[field];
  say();
  say(`growth: idempay, p50 in ms (one at a time: ${options.sequential}; under load: ${options.connections} connections, ${options.seconds} s); key TTL ${ttlHours} h`);
  say('| N | create p50 seq | replay p50 seq | create p50 load | replay p50 load | vs smallest N (create seq / replay seq / create load / replay load) | keys at boot → load start → load end | expired at boot → load start → load end | deleted/s | created/s (201s) | sweeper kept up |');
  say('| ---: | ---: | ---: | ---: | ---: | :--- | :--- | :--- | ---: | ---: | :--- |');
  for (const row of rows) {
    const ratios = ['seqCreate', 'seqReplay', 'loadCreate', 'loadReplay'].map((f) => ratio(row, f));
    const flat = ratios.every((r) => r <= P50_TARGET);
    // Keeping up: no expired backlog left, or deleting at least as fast as new keys arrive.
    const keptUp = row.after.expired === 0 || row.deletedPerSecond >= row.createdPerSecond;
    say(
      `| ${row.n} | ${row.seqCreate.toFixed(2)} | ${row.seqReplay.toFixed(2)} | ${row.loadCreate} | ${row.loadReplay} | ` +
        `${ratios.map((r) => r.toFixed(2)).join(' / ')} (target ≤ ${P50_TARGET}: ${flat ? 'met' : 'missed'}) | ` +
        `${[row.atBoot, row.before, row.after].map((c) => c.total).join(' → ')} | ${[row.atBoot, row.before, row.after].map((c) => c.expired).join(' → ')} | ${row.deletedPerSecond.toFixed(0)} | ${row.createdPerSecond.toFixed(0)} | ${keptUp ? 'yes' : 'no'} |`,
    );
  }
  say(
    `sweeper: every ${spec.env.SWEEPER_INTERVAL_MS} ms here (SWEEPER_INTERVAL_MS), batches of ${process.env.SWEEPER_BATCH_SIZE || 1000} ` +
      '(SWEEPER_BATCH_SIZE); deleted/s is over the create load, while an expired backlog is left, which at a large N also ' +
      'means the p50s there are measured with the sweeper deleting alongside',
  );
  say();
  for (const row of rows) for (const [text, ok] of row.checks) say(`${ok ? 'ok  ' : 'FAIL'} growth ${row.n}: ${text}`);
  if (failed) process.exitCode = 1;
}

/**
 * N finished keys with their stored answers, and their N succeeded payments, shaped like the rows
 * idempay writes (see IdempotencyRepository.insertClaimed/finish and PaymentsRepository.insert),
 * created uniformly over the last 2 × TTL. In batches, so a large N shows progress.
 */
async function preload(db, merchantId, n, ttlHours, say) {
  const started = performance.now();
  for (let from = 1; from <= n; from += BATCH) {
    const to = Math.min(n, from + BATCH - 1);
    const params = [merchantId, from, to, n, ttlHours];
    const rows = `
      SELECT i,
             'pay_' || lpad(upper(to_hex(i)), 26, '0') AS id,
             '${PRELOADED}' || i AS key,
             encode(sha256(i::text::bytea), 'hex') AS fingerprint,
             now() - make_interval(hours => 2 * $5) * (1 - i::double precision / $4) AS at
        FROM generate_series($2::bigint, $3::bigint) AS i`;
    await db.query(
      `INSERT INTO payments (id, merchant_id, mode, operation_id, request_fingerprint, amount, currency, payment_method, metadata,
                             status, provider_key, provider_charge_id, created_at, updated_at)
       SELECT id, $1, 'test', key, fingerprint, 5000, 'eur', 'pm_card_visa', '{}', 'succeeded', id || ':charge',
              'ch_' || substr(fingerprint, 1, 24), at, at
         FROM (${rows}) r`,
      params,
    );
    await db.query(
      `INSERT INTO idempotency_keys (merchant_id, mode, key, method, route, path, path_params, fingerprint, request_params,
                                     recovery_point, resource_id, response_status, response_headers, response_body, created_at, finished_at)
       SELECT $1, 'test', key, 'POST', 'POST /v1/payments', '/v1/payments', '{}', fingerprint,
              '{"amount":5000,"currency":"eur","payment_method":"pm_card_visa"}', 'finished', id, 201,
              jsonb_build_object('content-type', 'application/json; charset=utf-8', 'location', '/v1/payments/' || id),
              json_build_object('id', id, 'object', 'payment', 'amount', 5000, 'amount_refunded', 0, 'currency', 'eur',
                                'status', 'succeeded', 'payment_method', 'pm_card_visa', 'description', null, 'metadata', '{}'::json,
                                'failure_code', null, 'failure_message', null, 'operation_id', key, 'livemode', false,
                                'created_at', at, 'updated_at', at)::text,
              at, at
         FROM (${rows}) r`,
      params,
    );
    say(`  ${to} of ${n} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  // As a long-lived database would be: visibility map set, statistics current.
  await db.query('VACUUM ANALYZE idempotency_keys, payments');
  say(`  vacuumed and analysed (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

async function keyCounts(db, ttlHours) {
  const { rows } = await db.query(
    `SELECT count(*)::bigint AS total,
            count(*) FILTER (WHERE recovery_point = 'finished' AND created_at < now() - make_interval(hours => $1))::bigint AS expired
       FROM idempotency_keys`,
    [ttlHours],
  );
  return { total: Number(rows[0].total), expired: Number(rows[0].expired) };
}
