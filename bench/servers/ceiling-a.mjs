/** Ceiling A: bare Fastify + pg, the key, the payment and the stored answer in one transaction, no provider call. */
import { createInOneTransaction } from './ceiling-work.mjs';
import { serveCeiling } from './serve-ceiling.mjs';

await serveCeiling('ceiling-a', createInOneTransaction);
