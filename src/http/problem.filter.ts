import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../errors/error-catalogue.js';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody } from '../errors/problem.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
};

const DETAILS: Partial<Record<ErrorCode, string>> = {
  'body-too-large': 'The body is larger than this API accepts.',
  'unsupported-media-type': 'Send the body as JSON with "Content-Type: application/json".',
  'malformed-json': 'The body could not be parsed as JSON.',
  'route-not-found': 'No route matches this method and path.',
  'internal-error': 'Something failed on our side. Retry with the same Idempotency-Key to resume safely.',
  'service-unavailable':
    'The database is unavailable for a moment. Retry after Retry-After seconds with the same Idempotency-Key: the request resumes where it stopped, or starts afresh.',
};

function codeOf(exception: unknown): ErrorCode {
  const cause = exception instanceof HttpException ? exception.cause : exception;
  const fastifyCode = (cause as { code?: unknown } | undefined)?.code;
  if (typeof fastifyCode === 'string' && fastifyCode in FASTIFY_CODES) return FASTIFY_CODES[fastifyCode];
  if (cause instanceof SyntaxError) return 'malformed-json';
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return 'route-not-found';
    if (status === 405) return 'method-not-allowed';
    if (status === 413) return 'body-too-large';
    if (status === 415) return 'unsupported-media-type';
    if (status < 500) return 'validation-failed';
  }
  if (isDatabaseUnavailable(cause)) return 'service-unavailable';
  return 'internal-error';
}

function toProblem(exception: unknown): ProblemError {
  const code = codeOf(exception);
  const headers = code === 'service-unavailable' ? { 'retry-after': '1' } : undefined;
  return new ProblemError(code, DETAILS[code] ?? (exception instanceof HttpException ? exception.message : 'Request failed.'), undefined, headers);
}

/** Every error leaves as RFC 9457 problem+json with a catalogued code and the trace id. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const problem = exception instanceof ProblemError ? exception : toProblem(exception);
    // The connection closed before the request arrived (the client left, or was cut off as too slow):
    // reading its body failed, which is not our failure, and nobody is there to read an answer.
    const clientGone = !request.raw.complete && request.raw.socket.destroyed;
    if (problem.code === 'service-unavailable' && !(exception instanceof ProblemError)) {
      this.logger.warn(`${request.method} ${request.routeOptions?.url ?? '(no route)'} answered 503: the database is unavailable (trace ${request.id}): ${exception instanceof Error ? exception.message : String(exception)}`);
    } else if (!(exception instanceof ProblemError) && problem.status >= 500 && !clientGone) {
      this.logger.error(`${request.method} ${request.routeOptions?.url ?? '(no route)'} failed (trace ${request.id}): ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`);
    }
    if (exception instanceof ProblemError && problem.status >= 500) {
      this.logger.warn(`${request.method} ${request.routeOptions?.url ?? '(no route)'} answered ${problem.status} ${problem.code} (trace ${request.id})`);
    }
    const path = request.url.split('?')[0];
    void reply
      .status(problem.status)
      .headers({ ...problem.headers, 'content-type': PROBLEM_CONTENT_TYPE })
      .send(JSON.stringify(problemBody(problem.code, problem.detail, request.id, path, problem.fieldErrors)));
  }
}
