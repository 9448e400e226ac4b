/**
 * `--soak N`: does idempay's memory stay flat over N replays? Creates a set of keys, then replays
 * them N times in all under load (autocannon `amount`), sampling the server's RSS at the first
 * answer, at every tenth of the way and at the last.
 */
import { AnswerBook } from '../lib/answers.mjs';
import { keyMaker, load, sequential } from '../lib/load.mjs';
import { connect, databaseUrl, recreateDatabase } from '../lib/postgres.mjs';
import { rssKiB } from '../lib/proc.mjs';
import { createMerchant, startServer } from '../lib/processes.mjs';
import { servers } from '../lib/servers.mjs';

const FLAT_WITHIN = 0.1;
/** The soak stops by itself past this even if N replays have not all been answered. */
const MAX_SECONDS = Number(process.env.BENCH_SOAK_MAX_SECONDS || 6 * 3600);

export async function runSoak(ctx) {
  const { admin, sandbox, options, say } = ctx;
  const n = options.soak;
  const spec = servers(ctx.runTag).find((s) => s.idempay);
  await recreateDatabase(admin, spec.database);
  await sandbox.reset();
  const server = await startServer(spec, sandbox.url, databaseUrl(spec.database));
  const book = new AnswerBook();
  const samples = [];
  try {
    const headers = { authorization: `Bearer ${(await createMerchant(databaseUrl(spec.database))).test_key}` };
    const nextKey = keyMaker(`bench-${ctx.runTag}-soak`);
    await sequential({ url: server.url, headers, keys: Array.from({ length: options.sequential }, nextKey), onAnswer: (...a) => book.recordCreate(...a) });
    const keys = book.keys();
    if (keys.length === 0) throw new Error(`idempay created nothing for the soak: ${JSON.stringify([...book.unexpected])}`);

    const marks = [1, ...Array.from({ length: 10 }, (_, i) => Math.max(1, Math.round(((i + 1) * n) / 10)))];
    let answered = 0;
    let next = 0;
    say(`soak: ${n} replays of ${keys.length} keys, ${options.connections} connections (stops after ${MAX_SECONDS} s at most)`);
    const started = performance.now();
    const result = await load({
      url: server.url,
      headers,
      connections: options.connections,
      amount: n,
      maxSeconds: MAX_SECONDS,
      keyFor: () => keys[next++ % keys.length],
      onAnswer: (...a) => book.recordReplay(...a),
      onResponse: () => {
        answered++;
        while (answered === marks[samples.length]) {
          samples.push({ answered, rssMiB: rssKiB(server.pid) / 1024, seconds: (performance.now() - started) / 1000 });
          say(`  ${answered} replays, RSS ${samples.at(-1).rssMiB.toFixed(1)} MiB`);
        }
      },
    });
    if (answered < n) say(`soak: stopped after ${MAX_SECONDS} s (BENCH_SOAK_MAX_SECONDS) with ${answered} of ${n} answered`);
    say(`soak: ${result.ok} replays answered 2xx at ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`);
  } finally {
    await server.stop();
  }

  say();
  say('| replays answered | s | RSS MiB |');
  say('| ---: | ---: | ---: |');
  for (const s of samples) say(`| ${s.answered} | ${s.seconds.toFixed(0)} | ${s.rssMiB.toFixed(1)} |`);
  const first = samples[0];
  const last = samples.at(-1);
  if (first && last) {
    const change = last.rssMiB / first.rssMiB - 1;
    say(`RSS at the 1st replay ${first.rssMiB.toFixed(1)} MiB, at the ${last.answered}th ${last.rssMiB.toFixed(1)} MiB: ${(change * 100).toFixed(1)} % (target flat within ±${FLAT_WITHIN * 100} %: ${Math.abs(change) <= FLAT_WITHIN ? 'met' : 'missed'})`);
  }
  const db = await connect(spec.database);
  const stored = new Set((await db.query('SELECT id FROM payments')).rows.map((r) => r.id));
  await db.end();
  const checks = book.checks(stored, await sandbox.executions());
  for (const [text, ok] of checks) say(`${ok ? 'ok  ' : 'FAIL'} soak: ${text}`);
  if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
}
