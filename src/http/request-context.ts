import { type Context, context } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import type { Tracing } from '../observability/tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's trace context (its span), which everything it runs sees as active. */
    traceContext: Context | null;
  }
}

/**
 * Runs each request in its trace context, from its first hook on, and names its trace in `Trace-Id`.
 * Fastify reads a body in the connection's context, not the request's, so the context is entered
 * again once the body is in.
 * Registered before any other hook, so that every hook after it sees the context too.
 */
export function registerRequestContext(fastify: FastifyInstance, tracing: Tracing): void {
  fastify.decorateRequest('traceContext', null);
  fastify.addHook('onRequest', (request, reply, done) => {
    // Here, so that an answer made by any hook after this one (a CORS preflight, a 429) quotes it too.
    reply.header('trace-id', request.id);
    request.traceContext = tracing.requestContext(request);
    context.with(request.traceContext, done);
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    // Still in it when no body was read (a GET): nothing to do.
    if (request.traceContext && context.active() !== request.traceContext) context.with(request.traceContext, done);
    else done();
  });
}
