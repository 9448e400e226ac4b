import type { components } from '../../generated/v1.js';

export type WebhookDeliveryResource = components['schemas']['WebhookDelivery'];
export type DeliveryStatus = components['schemas']['WebhookDeliveryStatus'];

export interface DeliveryRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_http_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  http_status: number | null;
  error: string | null;
  latency_ms: number;
  created_at: Date;
}

/** `disabled_reason` of an endpoint the delivery worker switched off. */
export const DISABLED_GONE = 'endpoint_gone';
export const DISABLED_FAILING = 'failing_too_long';

export function toDeliveryResource(row: DeliveryRow, attempts: AttemptRow[]): WebhookDeliveryResource {
  return {
    id: row.id,
    object: 'webhook_delivery',
    event: row.event_id,
    endpoint: row.endpoint_id,
    status: row.status,
    attempt_count: row.attempts,
    next_attempt_at: row.status === 'pending' ? (row.next_attempt_at?.toISOString() ?? null) : null,
    last_http_status: row.last_http_status,
    last_error: row.last_error,
    delivered_at: row.delivered_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    attempts: attempts
      .filter((a) => a.delivery_id === row.id)
      .map((a) => ({ attempt: a.attempt, http_status: a.http_status, error: a.error, latency_ms: a.latency_ms, created_at: a.created_at.toISOString() })),
  };
}
