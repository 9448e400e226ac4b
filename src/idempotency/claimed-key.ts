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
  constructor(
    readonly id: string,
    readonly owner: string,
    readonly auth: AuthContext,
    readonly key: string,
    readonly fingerprint: string,
    readonly request: IdempotentRequest,
    readonly recoveryPoint: string,
    readonly resourceId: string | null,
  ) {}
}
