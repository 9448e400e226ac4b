import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../auth/auth-context.js';

export const STARTED = 'started';
export const FINISHED = 'finished';

/** What a request or the completer may resume from: the request as first sent, and how far it got. */
export interface IdempotentRequest {
  method: string;
  /** The route template (`PATCH /v1/payments/:id`): it names the operation that resumes the key. */
  route: string;
  path: string;
  pathParams: Record<string, string>;
  body: Record<string, unknown>;
}

/** A key this process holds the lease on; every phase checks the lease is still ours. */
export class ClaimedKey {
  /** Set once the claim was removed (a refusal): nothing is left of it to finish or release. */
  abandoned = false;

  constructor(
    readonly id: string,
    readonly owner: string,
    readonly auth: AuthContext,
    readonly key: string,
    readonly fingerprint: string,
    readonly request: IdempotentRequest,
    readonly recoveryPoint: string,
    readonly resourceId: string | null,
    /** When the key was first stored: its answer may be replayed until its TTL from then. */
    readonly createdAt: Date,
    /** The traceparent of the request that stored the key, which the completer carries on. */
    readonly traceparent: string | null = null,
  ) {}
}

/**
 * One request's use of its Idempotency-Key, before and after the claim. Most routes have it claimed
 * before their handler runs; an operation whose first write can carry the claim (a create) claims it
 * itself, in that same statement.
 */
export class IdempotentCall {
  claimed: ClaimedKey | undefined;
  private lease: string | undefined;

  constructor(
    readonly auth: AuthContext,
    readonly key: string,
    readonly request: IdempotentRequest,
    readonly fingerprint: string,
  ) {}

  /** The lease this request would take, and holds once `claimed` is set; drawn only for a request that needs one. */
  get owner(): string {
    this.lease ??= randomUUID();
    return this.lease;
  }
}
