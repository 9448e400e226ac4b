export interface ChargeRequest {
  /** Derived from our payment id, never the client's Idempotency-Key: the provider dedupes on it. */
  providerKey: string;
  amount: number;
  currency: string;
  paymentMethod: string;
  reference: string;
}

export type ChargeOutcome =
  | { kind: 'succeeded'; chargeId: string }
  | { kind: 'failed'; chargeId: string | null; failureCode: string; failureMessage: string }
  /** The provider may or may not have charged (timeout, reset, 5xx): only asking it later can tell. */
  | { kind: 'unknown'; reason: string };

export interface ChargeResult {
  outcome: ChargeOutcome;
  httpStatus: number | null;
  latencyMs: number;
}

/** The port to a payment provider; the DI token is this abstract class. */
export abstract class PaymentProvider {
  abstract readonly name: string;
  abstract charge(request: ChargeRequest): Promise<ChargeResult>;
}
