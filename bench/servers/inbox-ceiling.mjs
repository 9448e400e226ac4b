/**
 * The inbox's ceiling: bare Fastify + pg taking a provider's webhook the way idempay must — the
 * Standard Webhooks signature checked on the raw bytes, then one durable INSERT … ON CONFLICT DO
 * NOTHING of the event — with nothing else: no framework, no job queue, no logging.
 * Prints `inbox-ceiling listening` when ready.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const key = Buffer.from(process.env.SANDBOX_WEBHOOK_SECRET.replace(/^whsec_/, ''), 'base64');
const app = Fastify({ logger: false });
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

app.post('/provider-webhooks/:provider', async (request, reply) => {
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const signatures = String(request.headers['webhook-signature'] ?? '').split(' ');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(request.body).digest();
  const valid = signatures.some((s) => {
    const given = Buffer.from(s.slice(3), 'base64');
    return s.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!valid) return reply.code(401).send({ error: 'invalid signature' });
  const event = JSON.parse(request.body.toString('utf8'));
  await pool.query(
    'INSERT INTO inbox_events (provider, event_id, type, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (provider, event_id) DO NOTHING',
    [request.params.provider, id, event.type, request.body.toString('utf8')],
  );
  return { received: true };
});

await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' });
process.stdout.write('inbox-ceiling listening\n');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
}
