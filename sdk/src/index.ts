export { Idempay } from './client.js';
export { IdempayConnectionError, IdempayError } from './errors.js';
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
  WithLastResponse,
} from './types.js';
export { SDK_VERSION } from './version.js';
