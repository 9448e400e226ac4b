/**
 * The HTTP side of both ceilings: bare Fastify, `POST /v1/payments` with an Idempotency-Key. A key
 * that already holds an answer is answered from its row (one SELECT), byte for byte; a new one runs
 * the ceiling's `create`. Prints `<name> listening` when ready (bench/lib/processes.mjs waits for it).
 */
import Fastify from 'fastify';
import { fingerprintOf, invalidPayment, openPool, storedAnswer } from './ceiling-work.mjs';

const JSON_TYPE = 'application/json; charset=utf-8';

/** `create(pool, key, fingerprint, body)` answers `{ status, body }`, or undefined when the key turned out to exist. */
export async function serveCeiling(name, create) {
  const pool = openPool();
  const app = Fastify({ logger: false });

  app.post('/v1/payments', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '' || key.length > 255) return reply.code(400).send({ error: 'idempotency_key_required' });
    const problem = invalidPayment(request.body);
    if (problem) return reply.code(400).send({ error: 'invalid_request', message: problem });
    const fingerprint = fingerprintOf(request.body);
    // A key that lost a race to a concurrent request with it is read again: that request's answer, or 409.
    const answer =
      (await storedAnswer(pool, key, fingerprint)) ??
      (await create(pool, key, fingerprint, request.body)) ??
      (await storedAnswer(pool, key, fingerprint));
    if (answer.replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(answer.status).type(JSON_TYPE).send(answer.body);
  });

  await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' });
  process.stdout.write(`${name} listening\n`);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
  }
}
