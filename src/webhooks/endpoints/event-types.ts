import type { components } from '../../generated/v1.js';

export type WebhookEventType = components['schemas']['WebhookEventType'];

/**
 * Every event type a merchant can subscribe to, as `events.type` holds them. The endpoints API
 * checks `enabled_events` against it and the delivery fans events out by it, so both use these names.
 */
export const WEBHOOK_EVENT_TYPES = [
  'payment.processing',
  'payment.succeeded',
  'payment.failed',
  'payment.updated',
  'refund.processing',
  'refund.succeeded',
  'refund.failed',
] as const satisfies readonly WebhookEventType[];

// Fails tsc if the spec's enum gains a type this list lacks.
true satisfies (WebhookEventType extends (typeof WEBHOOK_EVENT_TYPES)[number] ? true : never);

/** In `enabled_events`: every type, including ones added later. */
export const ALL_EVENTS = '*';
