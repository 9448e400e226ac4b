import type { components } from '../generated/v1.js';
import { ERROR_CATALOGUE, type ErrorCode } from './error-catalogue.js';

export type Problem = components['schemas']['Problem'];
export type FieldError = components['schemas']['FieldError'];

/** A failure with a catalogued code; the exception filter renders it as RFC 9457 problem+json. */
export class ProblemError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly fieldErrors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/**
 * An answer that tells the client nothing was done: nothing is stored and nothing was charged. Raised
 * after an Idempotency-Key was claimed, it obliges the code that raised it to leave nothing behind
 * (the claim and every row the request wrote go in one transaction), so no background task can later
 * carry out what the client was told did not happen, and a retry with the same key starts afresh.
 */
export class Refusal extends ProblemError {}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemBody(code: ErrorCode, detail: string, traceId: string, instance?: string, errors?: FieldError[]): Problem {
  const entry = ERROR_CATALOGUE[code];
  return {
    type: `urn:idempay:problem:${code}`,
    title: entry.title,
    status: entry.status,
    detail,
    code,
    trace_id: traceId,
    ...(instance ? { instance } : {}),
    ...(errors?.length ? { errors } : {}),
  };
}
