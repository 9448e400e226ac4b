export { Idempay } from './client.js';
export { IdempayConnectionError, IdempayError } from './errors.js';
export { IdempayWebhookError, verifyWebhook } from './verify-webhook.js';
export type { VerifyWebhookOptions, WebhookEvent, WebhookHeaders, WebhookRefusal } from './verify-webhook.js';
export type {
  Event,
  EventList,
  EventListParams,
  EventRedeliverRequest,
  EventRedelivery,
  FieldError,
  IdempayOptions,
  IdempotentRequestOptions,
  LastResponse,
  Metadata,
  Payment,
  PaymentCreateRequest,
  PaymentList,
  PaymentListParams,
  PaymentStatus,
  PaymentUpdateRequest,
  Problem,
  Refund,
  RefundCreateRequest,
  RefundList,
  RefundListParams,
  RefundReason,
  RefundStatus,
  WebhookEndpoint,
  WebhookEndpointCreateRequest,
  WebhookEndpointDeleted,
  WebhookEndpointList,
  WebhookEndpointListParams,
  WebhookEndpointUpdateRequest,
  WebhookEndpointWithSecret,
  WebhookEventType,
  WithLastResponse,
} from './types.js';
export { SDK_VERSION } from './version.js';
