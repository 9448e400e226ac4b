import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { preserializedInfo } from '../observability/logger.js';
import { scrubSecrets } from '../observability/redaction.js';
import type { Tracing } from '../observability/tracing.js';
import { redactQuery } from './query-secrets.js';

/**
 * The end of a request as the logs and traces see it: Fastify's request logging (a line when a
 * request arrives and another when it is answered) replaced by one line at completion, and the
 * request's span ended. The line holds the trace id, the merchant and mode of the API key, the route
 * template, method, URL (query values redacted), status, latency and what the Idempotency-Key did.
 */
export class RequestLog extends LogController {
  private readonly write: ((fields: string) => void) | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly tracing: Tracing,
  ) {
    super();
    this.write = preserializedInfo(logger);
  }

  override incomingRequest(): void {}

  /** The request line tells the 404, with the URL redacted; Fastify's own line would show the query. */
  override routeNotFound(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    this.completed(request, reply.statusCode, reply.elapsedTime, error ?? undefined);
  }

  /** A 4xx the framework answered is the request line's to tell; a 5xx is worth its own error line. */
  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) super.defaultErrorLog(error, request, reply);
  }

  /** Also called for an answer written on the socket (a request that timed out). */
  completed(request: FastifyRequest, statusCode: number, latencyMs: number, error?: Error): void {
    if (this.tracing.recording && request.traceContext) {
      this.tracing.endRequest(request.traceContext, statusCode, {
        ...(request.auth && { 'idempay.merchant_id': request.auth.merchantId, 'idempay.mode': request.auth.mode }),
        ...(request.idempotencyOutcome && { 'idempay.idempotency_outcome': request.idempotencyOutcome }),
      });
    }
    // The answer failed to go out: rare, and the line is then an error line, with the error.
    if (error) this.logger.error({ ...(JSON.parse(`{${fieldsOf(request, statusCode, latencyMs)}}`) as object), err: error }, 'request');
    else if (this.write) this.write(`${fieldsOf(request, statusCode, latencyMs)},"msg":"request"`);
  }
}

/** What a JSON string must escape; a URL seldom holds any. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/**
 * The line's fields as JSON. Only the URL comes from the client as is: it is scrubbed of secrets and
 * escaped; the others are ours (a trace id, ids, enums, a route template) or an HTTP method token.
 */
function fieldsOf(request: FastifyRequest, statusCode: number, latencyMs: number): string {
  const { auth, idempotencyOutcome } = request;
  const route = request.routeOptions.url;
  const url = scrubSecrets(redactQuery(request.url));
  return (
    `"trace_id":"${request.id}"` +
    (auth ? `,"merchant_id":"${auth.merchantId}","mode":"${auth.mode}"` : '') +
    `,"method":"${request.method}"` +
    (route === undefined ? '' : `,"route":"${route}"`) +
    `,"url":${NEEDS_ESCAPE.test(url) ? JSON.stringify(url) : `"${url}"`}` +
    `,"status":${statusCode},"latency_ms":${Math.round(latencyMs * 100) / 100}` +
    (idempotencyOutcome ? `,"idempotency_outcome":"${idempotencyOutcome}"` : '')
  );
}
