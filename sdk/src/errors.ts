import type { Problem } from './types.js';

export interface IdempayErrorInit {
  status: number;
  problem: Problem | null;
  traceId: string | null;
  idempotencyKey: string | null;
  attempts: number;
  /** Used as the message when the body is not a problem (a proxy's HTML page, an empty body). */
  fallbackMessage: string;
}

/** The API answered with an error status: a refusal to fix, or a failure that outlasted the retries. */
export class IdempayError extends Error {
  readonly status: number;
  /** The problem's stable `code` (`validation-failed`, `idempotency-key-reused`, …); null when the body was not a problem. */
  readonly code: string | null;
  /** The RFC 9457 problem+json body; null when something in between answered with another body. */
  readonly problem: Problem | null;
  /** Quote it to support: it finds the request in the API's logs. */
  readonly traceId: string | null;
  readonly idempotencyKey: string | null;
  readonly attempts: number;

  constructor(init: IdempayErrorInit) {
    super(init.problem ? `${init.problem.title}: ${init.problem.detail}` : init.fallbackMessage);
    this.name = 'IdempayError';
    this.status = init.status;
    this.code = init.problem?.code ?? null;
    this.problem = init.problem;
    this.traceId = init.traceId;
    this.idempotencyKey = init.idempotencyKey;
    this.attempts = init.attempts;
  }
}

/**
 * No usable answer after the last attempt (connection refused or reset, timeout, unreadable body).
 * Whether a POST took effect is unknown: call again with the same `idempotencyKey` to find out
 * without charging twice.
 */
export class IdempayConnectionError extends Error {
  readonly idempotencyKey: string | null;
  readonly attempts: number;

  constructor(message: string, init: { cause: unknown; idempotencyKey: string | null; attempts: number }) {
    super(message, { cause: init.cause });
    this.name = 'IdempayConnectionError';
    this.idempotencyKey = init.idempotencyKey;
    this.attempts = init.attempts;
  }
}
