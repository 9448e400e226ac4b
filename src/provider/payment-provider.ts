import type { Mode } from '../auth/auth-context.js';

export interface ChargeRequest {
  /** Derived from our payment id, never the client's Idempotency-Key: the provider dedupes on it. */
  providerKey: string;
  amount: number;
  currency: string;
  paymentMethod: string;
  reference: string;
}

export interface RefundRequest {
  /** Derived from our refund id. */
  providerKey: string;
  /** The provider's id of the charge being refunded. */
  chargeId: string;
  amount: number;
  currency: string;
  reference: string;
}

/** What the provider said, when it said something definite. */
export type ProviderAnswer =
  | { kind: 'succeeded'; id: string }
  | { kind: 'failed'; id: string | null; failureCode: string; failureMessage: string }
  /** A lookup found no execution for the key. */
  | { kind: 'not_found' }
  /** A 4xx other than 408/429: the provider refused the request itself and executed nothing. */
  | { kind: 'rejected'; httpStatus: number; code: string };

/**
 * A failure worth retrying (timeout, reset, connect error, 5xx, 429). `mayHaveExecuted` is false
 * only when the request cannot have been acted on (no connection, or a 429); then giving up is
 * safe, otherwise the outcome is unknown until someone asks the provider.
 */
export class TransientProviderError extends Error {
  constructor(
    readonly reason: 'timeout' | 'reset' | 'connect' | 'http',
    readonly mayHaveExecuted: boolean,
    readonly httpStatus: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(httpStatus ? `provider answered HTTP ${httpStatus}` : `provider ${reason}`);
  }
}

/**
 * The port to a payment provider: one attempt per call, bounded by `signal`. Retries, the breaker,
 * the bulkhead and the kill switch live in ProviderGateway, above it.
 */
export abstract class PaymentProvider {
  abstract readonly name: string;
  abstract charge(request: ChargeRequest, signal: AbortSignal): Promise<ProviderAnswer>;
  abstract refund(request: RefundRequest, signal: AbortSignal): Promise<ProviderAnswer>;
  /** How an earlier charge with this key ended, or not_found if it never executed. */
  abstract findCharge(providerKey: string, signal: AbortSignal): Promise<ProviderAnswer>;
  abstract findRefund(providerKey: string, signal: AbortSignal): Promise<ProviderAnswer>;
}

/**
 * The providers each mode charges through; the DI token is this class. Test mode always has the
 * sandbox; live mode has only the provider configured for it, never the sandbox, and none when
 * nothing is configured.
 */
export abstract class PaymentProviders {
  abstract forMode(mode: Mode): PaymentProvider | undefined;
}
