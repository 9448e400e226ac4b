import { pipeline, Transform, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Route config (`@RouteConfig(RAW_BODY)`) for a route that needs its body as the bytes sent, not
 * parsed: a signed webhook, whose signature covers those bytes and must be checked before anything
 * reads them. Only such routes pay for it: the other routes get no hook.
 */
export const RAW_BODY = { rawBody: true } as const;

const CHUNKS = Symbol('raw-body-chunks');

type RawBodyRequest = FastifyRequest & { [CHUNKS]?: Buffer[] };

/** Before the routes are registered: routes with RAW_BODY keep the bytes they receive. */
export function registerRawBodyRoutes(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    if ((route.config as { rawBody?: boolean } | undefined)?.rawBody !== true) return;
    route.preParsing = [...[route.preParsing ?? []].flat(), keepChunks];
  });
}

/**
 * Copies each chunk as it passes on to Fastify's body reader, which still enforces the body limit
 * and Content-Length; the JSON parser then hands these bytes over instead of parsing them.
 */
async function keepChunks(request: FastifyRequest, _reply: unknown, payload: Readable): Promise<Readable> {
  const chunks: Buffer[] = [];
  (request as RawBodyRequest)[CHUNKS] = chunks;
  const copy = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done(null, chunk);
    },
  });
  // An aborted upload destroys the copy with its error, which ends Fastify's read of the body.
  return pipeline(payload, copy, () => {});
}

/** The body as received, on a RAW_BODY route (empty when none was sent); undefined on any other route. */
export function rawBodyOf(request: FastifyRequest): Buffer | undefined {
  const chunks = (request as RawBodyRequest)[CHUNKS];
  return chunks && Buffer.concat(chunks);
}
