import { ProblemError } from '../../errors/problem.js';

export const PROVIDER_EVENT_TYPES = ['charge.succeeded', 'charge.failed', 'refund.succeeded', 'refund.failed'] as const;
export type ProviderEventType = (typeof PROVIDER_EVENT_TYPES)[number];

/** What a provider's event says of the charge or refund it is about (`data.object`), as far as we read it. */
export interface ProviderObject {
  id?: unknown;
  status?: unknown;
  failure_code?: unknown;
  failure_message?: unknown;
  /** Our key for the call, naming our payment (`pay_…:charge`) or refund (`re_…:refund`). */
  idempotency_key?: unknown;
}

export interface ProviderEvent {
  id: string;
  type: ProviderEventType;
  data: { object: ProviderObject };
}

// Strict, and keeping a BOM: the text stored is exactly the bytes that were signed.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The signed body as an event, or a 400: JSON text in UTF-8, an object whose `id` is the
 * `webhook-id` it was signed under, a `type` we receive and a `data.object`. What `data.object`
 * says is judged when the event is applied: a signed event that names nothing of ours is kept and
 * ignored, not refused (the provider would send it again and again).
 */
export function parseProviderEvent(body: Buffer, webhookId: string): { event: ProviderEvent; text: string } {
  let text: string;
  let value: unknown;
  try {
    text = UTF8.decode(body);
    value = JSON.parse(text);
  } catch {
    throw new ProblemError('webhook-payload-invalid', 'The body is not JSON text in UTF-8.');
  }
  if (!isObject(value) || typeof value.id !== 'string' || typeof value.type !== 'string' || !isObject(value.data) || !isObject(value.data.object)) {
    throw new ProblemError('webhook-payload-invalid', 'The body must be an event: an object with `id`, `type` and `data.object`.');
  }
  if (value.id !== webhookId) throw new ProblemError('webhook-payload-invalid', 'The event `id` must be the webhook-id it was signed under.');
  if (!(PROVIDER_EVENT_TYPES as readonly string[]).includes(value.type)) {
    throw new ProblemError('webhook-event-type-unknown', `Events of type ${JSON.stringify(value.type.slice(0, 100))} are not received; send one of ${PROVIDER_EVENT_TYPES.join(', ')}.`);
  }
  return { event: value as unknown as ProviderEvent, text };
}
