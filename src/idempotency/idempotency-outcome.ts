/**
 * What the Idempotency-Key did for one request, for its log line and metrics: `claimed` (this request
 * ran, or resumed, the operation), `replayed` (a stored answer was sent), `in-use` (409: the key's
 * request was still running), `reused` (422: the key was sent with a different request), `refused`
 * (nothing was stored: the request was refused before or after its claim, which was then removed).
 */
export type IdempotencyOutcome = 'claimed' | 'replayed' | 'in-use' | 'reused' | 'refused';

export const IDEMPOTENCY_OUTCOMES: readonly IdempotencyOutcome[] = ['claimed', 'replayed', 'in-use', 'reused', 'refused'];

/** The outcome of a request that ended in an error thrown past the interceptor. */
export function outcomeOfError(error: unknown, claimed: boolean): IdempotencyOutcome {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'idempotency-key-in-use') return 'in-use';
  if (code === 'idempotency-key-reused') return 'reused';
  // An unexpected failure leaves a claim that is still held for the completer to finish.
  return claimed ? 'claimed' : 'refused';
}
