/**
 * Every error code the API can answer with. Codes are part of the contract: clients branch on them,
 * so a code is never renamed or reused for another meaning.
 */
export const ERROR_CATALOGUE = {
  'validation-failed': { status: 400, title: 'The request has invalid fields' },
  'malformed-json': { status: 400, title: 'The body is not valid JSON' },
  'idempotency-key-missing': { status: 400, title: 'Idempotency-Key header is required' },
  'idempotency-key-invalid': { status: 400, title: 'Idempotency-Key header is invalid' },
  'api-key-missing': { status: 401, title: 'No API key was given' },
  'api-key-invalid': { status: 401, title: 'The API key is not valid' },
  'api-key-in-url': { status: 400, title: 'An API key was sent in the URL' },
  'refund-exceeds-payment': { status: 400, title: 'The refund is larger than what is left to refund' },
  'payment-not-refundable': { status: 400, title: 'The payment cannot be refunded' },
  'resource-not-found': { status: 404, title: 'No such resource' },
  'route-not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-timeout': { status: 408, title: 'The request did not arrive in time' },
  'idempotency-key-in-use': { status: 409, title: 'A request with this Idempotency-Key is in progress' },
  'body-too-large': { status: 413, title: 'The body is too large' },
  'unsupported-media-type': { status: 415, title: 'The body must be application/json' },
  'idempotency-key-reused': { status: 422, title: 'The Idempotency-Key was used with a different request' },
  'rate-limited': { status: 429, title: 'Too many requests with this API key' },
  'internal-error': { status: 500, title: 'Internal error' },
  'service-unavailable': { status: 503, title: 'Service temporarily unavailable' },
  'provider-unavailable': { status: 503, title: 'The payment provider is unavailable' },
  'provider-overloaded': { status: 503, title: 'Too many calls to the payment provider are in flight' },
  'provider-disabled': { status: 503, title: 'The payment provider is switched off' },
  'live-mode-not-configured': { status: 503, title: 'Live mode has no payment provider configured' },
  // provider webhooks (inbound)
  'webhook-provider-unknown': { status: 404, title: 'No webhooks are received from this provider' },
  'webhook-headers-invalid': { status: 400, title: 'The webhook headers are missing or malformed' },
  'webhook-signature-invalid': { status: 401, title: 'The webhook signature does not verify' },
  'webhook-timestamp-out-of-tolerance': { status: 401, title: 'The webhook timestamp is too far from now' },
  'webhook-payload-invalid': { status: 400, title: 'The webhook payload is not an event' },
  'webhook-event-type-unknown': { status: 400, title: 'The webhook event type is not one we receive' },

  // webhook endpoints
  'webhook-url-unsafe': { status: 400, title: 'The webhook endpoint URL may not be called' },
  'webhook-endpoint-limit-reached': { status: 400, title: 'No more webhook endpoints may be created' },


  // events and deliveries
  'webhook-endpoint-disabled': { status: 400, title: 'The webhook endpoint is disabled' },
  'webhook-endpoint-not-subscribed': { status: 400, title: 'The webhook endpoint does not take this type of event' },

  // operations
  'metrics-token-invalid': { status: 401, title: 'The metrics token is missing or not valid' },

} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
