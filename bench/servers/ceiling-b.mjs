/**
 * Ceiling B: bare Fastify + pg doing idempay's work: transaction 1 (key + pending payment), the
 * charge at the sandbox under a key derived from the payment id, transaction 2 (outcome + stored answer).
 */
import { charge, finishPayment, insertKeyAndPayment } from './ceiling-work.mjs';
import { serveCeiling } from './serve-ceiling.mjs';

await serveCeiling('ceiling-b', async (pool, key, fingerprint, body) => {
  const payment = await insertKeyAndPayment(pool, key, fingerprint, body);
  if (!payment) return undefined;
  return finishPayment(pool, payment, await charge(payment));
});
