import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { registeredMetric } from '../common/registered-metric.js';

/** The route label of a request no route matched: one label for all of them, never the raw URL. */
export const UNMATCHED_ROUTE = '(unmatched)';

export const httpRequestDuration = registeredMetric(
  'idempay_http_request_duration_seconds',
  (name) =>
    new Histogram({
      name,
      help: 'HTTP requests by route template, method and status, and how long each took to answer',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
);

export const idempotencyRequestsTotal = registeredMetric(
  'idempay_idempotency_requests_total',
  (name) =>
    new Counter({
      name,
      help: 'Requests to idempotent routes by what their Idempotency-Key did (claimed, replayed, in-use, reused, refused)',
      labelNames: ['route', 'outcome'] as const,
    }),
);

function record(route: string, request: FastifyRequest, reply: FastifyReply): void {
  httpRequestDuration.observe({ route, method: request.method, status: reply.statusCode }, reply.elapsedTime / 1000);
  if (request.idempotencyOutcome) idempotencyRequestsTotal.inc({ route, outcome: request.idempotencyOutcome });
}

/**
 * RED per route, and the idempotency outcome of each request that has one, recorded as the answer
 * is sent. Each route gets its own hook, made once when the route is registered, that knows its
 * template (reading `request.routeOptions` would build an object per request); requests no route
 * matched go to one label. Callback hooks (no promise), Fastify's own elapsed time (no clock read).
 */
export function registerRequestMetrics(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    const template = route.url;
    const observe: onResponseHookHandler = (request, reply, done) => {
      record(template, request, reply);
      done();
    };
    route.onResponse = [...(route.onResponse ? [route.onResponse].flat() : []), observe];
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    if (request.is404) record(UNMATCHED_ROUTE, request, reply);
    done();
  });
}
