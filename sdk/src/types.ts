import type { components, operations } from './generated/v1.js';

type Schemas = components['schemas'];

export type Payment = Schemas['Payment'];
export type PaymentList = Schemas['PaymentList'];
export type PaymentCreateRequest = Schemas['PaymentCreateRequest'];
export type PaymentUpdateRequest = Schemas['PaymentUpdateRequest'];
export type PaymentStatus = Schemas['PaymentStatus'];
export type Metadata = Schemas['Metadata'];
export type FieldError = Schemas['FieldError'];
export type Problem = Schemas['Problem'];
export type PaymentListParams = NonNullable<operations['listPayments']['parameters']['query']>;
export type Refund = Schemas['Refund'];
export type RefundList = Schemas['RefundList'];
export type RefundCreateRequest = Schemas['RefundCreateRequest'];
export type RefundReason = Schemas['RefundReason'];
export type RefundStatus = Schemas['RefundStatus'];
export type RefundListParams = NonNullable<operations['listRefunds']['parameters']['query']>;
export type Event = Schemas['Event'];
export type EventList = Schemas['EventList'];
export type EventRedeliverRequest = Schemas['EventRedeliverRequest'];
export type EventRedelivery = Schemas['EventRedelivery'];
export type EventListParams = NonNullable<operations['listEvents']['parameters']['query']>;
export type WebhookEndpoint = Schemas['WebhookEndpoint'];
export type WebhookEndpointWithSecret = Schemas['WebhookEndpointWithSecret'];
export type WebhookEndpointList = Schemas['WebhookEndpointList'];
export type WebhookEndpointDeleted = Schemas['WebhookEndpointDeleted'];
export type WebhookEndpointCreateRequest = Schemas['WebhookEndpointCreateRequest'];
export type WebhookEndpointUpdateRequest = Schemas['WebhookEndpointUpdateRequest'];
export type WebhookEventType = Schemas['WebhookEventType'];
export type WebhookEndpointListParams = NonNullable<operations['listWebhookEndpoints']['parameters']['query']>;

export interface IdempayOptions {
  /** `sk_test_…` or `sk_live_…`: the key decides the merchant and the mode. */
  apiKey: string;
  baseUrl: string;
  /** Extra attempts after the first one. Default 2. */
  maxRetries?: number;
  /** Default 500. */
  retryBaseDelayMs?: number;
  /** Cap of one wait between attempts; a longer `Retry-After` ends the retries. Default 8000. */
  retryMaxDelayMs?: number;
  /** Per attempt, not per call. Default 30000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** @internal Source of the backoff jitter, uniform in [0, 1); tests pin it. */
  random?: () => number;
}

export interface IdempotentRequestOptions {
  /**
   * Identifies the operation, not the HTTP request: pass the same key when calling again for the same
   * operation (after a crash, say) to get its first answer back instead of doing it twice. Default: a
   * fresh UUID v4 per call, reused by that call's retries.
   */
  idempotencyKey?: string;
}

export interface LastResponse {
  status: number;
  headers: Headers;
  traceId: string | null;
  /** The key sent (null for GETs, which need none). */
  idempotencyKey: string | null;
  /** True when the API answered with the stored answer of an earlier request with this key. */
  replayed: boolean;
  /** Attempts the call took, retries included. */
  attempts: number;
}

/** A resource as the API returned it, with how it was obtained in the non-enumerable `lastResponse`. */
export type WithLastResponse<T> = T & { readonly lastResponse: LastResponse };
