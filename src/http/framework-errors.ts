import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../errors/error-catalogue.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../errors/problem.js';
import { API_HEADERS } from './api-headers.js';

/** Statuses every operation with a path parameter documents: an id no payment can have is not found. */
const ANSWERS: Record<string, [ErrorCode, string]> = {
  FST_ERR_BAD_URL: ['validation-failed', 'The URL path has invalid percent-encoding.'],
  FST_ERR_MAX_PARAM_LENGTH: ['resource-not-found', 'No resource has an id this long.'],
};

/**
 * The router's own refusals, made before any hook runs (so without our headers): answered as
 * problem+json here, with the headers every answer carries. The URL is left out of the answer: it is what could not be read.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const [code, detail] = ANSWERS[error.code] ?? ['internal-error', 'The request could not be routed.'];
  const body = problemBody(code, detail, request.id);
  void reply
    .code(body.status)
    .headers({ ...request.server.securityHeadersFor(request.url), ...API_HEADERS, 'trace-id': request.id, 'content-type': PROBLEM_CONTENT_TYPE })
    .send(JSON.stringify(body));
}
