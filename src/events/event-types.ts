import type { components } from '../generated/v1.js';

export type EventType = components['schemas']['WebhookEventType'];

/**
 * Every type `events.type` holds, as the spec's WebhookEventType lists them: the events list's
 * filter, and what an endpoint's `enabled_events` may name.
 */
export const EVENT_TYPES = [
  'payment.processing',
  'payment.succeeded',
  'payment.failed',
  'payment.updated',
  'refund.processing',
  'refund.succeeded',
  'refund.failed',
] as const satisfies readonly EventType[];

// Fails tsc if the spec's enum gains a type this list lacks.
true satisfies (EventType extends (typeof EVENT_TYPES)[number] ? true : never);
