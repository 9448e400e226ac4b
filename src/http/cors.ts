import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/** What a merchant's browser code sends: the key, a JSON body, the idempotency key and trace context. */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'traceparent', 'tracestate'];
/** What it reads back: the trace id to quote, whether an answer was replayed, when to retry, where a resource is. */
const EXPOSED_HEADERS = ['Trace-Id', 'Idempotent-Replayed', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Location', 'Deprecation', 'Sunset'];

/**
 * CORS for the listed origins only. No origins, nothing is registered: no answer carries an
 * Access-Control-* header. A request from an origin not listed gets none either (not even the exposed
 * headers), and its preflight is the route-not-found 404.
 */
export async function registerCors(fastify: FastifyInstance, origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  await fastify.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    // Secret keys travel in Authorization, never in cookies.
    credentials: false,
    maxAge: 600,
  });
}
