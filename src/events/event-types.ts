import type { components } from '../generated/v1.js';

export type EventType = components['schemas']['EventType'];

/**
 * Every type `events.type` holds, as the spec's EventType lists them. The list filter checks
 * against it and the delivery fans out by it. (The endpoints API keeps the same list for
 * `enabled_events`: one of the two goes once both are merged.)
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
