import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Mode } from '../auth/auth-context.js';
import type { PaymentStatus } from '../payments/payment.js';
import type { AttemptRow } from '../webhooks/outbound/webhook-delivery.js';

/**
 * A timestamp in microseconds since the epoch, as text (a bigint): what the timeline is ordered by.
 * A Date keeps milliseconds only, and two transactions a few microseconds apart must not tie.
 */
export type Micros = string;

function micros(column: string, as: string): string {
  return `(extract(epoch FROM ${column}) * 1000000)::bigint::text AS ${as}`;
}

export interface PaymentSummary {
  id: string;
  merchant_id: string;
  mode: Mode;
  operation_id: string;
  amount: string;
  currency: string;
  status: PaymentStatus;
  description: string | null;
  created_at: Date;
}

export interface PaymentFilter {
  /** A payment id or an operation id (the Idempotency-Key it was created with). */
  q?: string;
  status?: PaymentStatus;
  merchant?: string;
  /** Paging, newest first: payments with an id below this one. */
  before?: string;
}

export interface PaymentDetail extends PaymentSummary {
  amount_refunded: string;
  metadata: Record<string, unknown>;
  failure_code: string | null;
  failure_message: string | null;
  provider_key: string;
  provider_charge_id: string | null;
  reconcile_attempts: number;
  next_reconcile_at: Date | null;
  updated_at: Date;
  created_us: Micros;
}

export interface KeyRecord {
  key: string;
  /** The method and route template, as `POST /v1/payments`. */
  route: string;
  recovery_point: string;
  locked_at: Date | null;
  response_status: number | null;
  created_at: Date;
  finished_at: Date | null;
  created_us: Micros;
  finished_us: Micros | null;
  locked_us: Micros | null;
}

export interface ProviderAttemptRecord {
  id: string;
  provider: string;
  operation: string;
  provider_key: string;
  refund_id: string | null;
  attempt: number;
  waited_ms: number;
  outcome: string;
  http_status: number | null;
  error: string | null;
  latency_ms: number | null;
  created_at: Date;
  created_us: Micros;
}

export interface TransitionRecord {
  id: string;
  from_status: string;
  to_status: string;
  reason: string;
  created_at: Date;
  created_us: Micros;
}

export interface RefundRecord {
  id: string;
  operation_id: string;
  amount: string;
  currency: string;
  reason: string | null;
  status: string;
  failure_code: string | null;
  failure_message: string | null;
  created_at: Date;
  updated_at: Date;
  created_us: Micros;
}

export interface EventRecord {
  id: string;
  type: string;
  sequence: number;
  refund_id: string | null;
  created_at: Date;
  published_at: Date | null;
  created_us: Micros;
}

export interface DeliveryRecord {
  id: string;
  event_id: string;
  endpoint_id: string;
  url: string;
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_http_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  created_us: Micros;
}

/**
 * The console's reads of payments and everything that happened to one, across merchants and modes
 * (the operator sees all). Each per-payment read starts with the payment's merchant, as the indexes do.
 */
@Injectable()
export class ConsolePaymentsRepository {
  constructor(private readonly db: DataSource) {}

  /** Newest first; `limit + 1` rows are read to tell whether there is an older page. */
  list(filter: PaymentFilter, limit: number): Promise<PaymentSummary[]> {
    return this.db.query(
      `SELECT id, merchant_id, mode, operation_id, amount, currency, status, description, created_at
         FROM payments
        WHERE ($1::text IS NULL OR id = $1 OR operation_id = $1)
          AND ($2::text IS NULL OR status = $2)
          AND ($3::text IS NULL OR merchant_id = $3)
          AND ($4::text IS NULL OR id < $4)
        ORDER BY id DESC LIMIT $5`,
      [filter.q ?? null, filter.status ?? null, filter.merchant ?? null, filter.before ?? null, limit + 1],
    );
  }

  async find(id: string): Promise<PaymentDetail | undefined> {
    const rows: PaymentDetail[] = await this.db.query(
      `SELECT id, merchant_id, mode, operation_id, amount, amount_refunded, currency, status, description, metadata, failure_code, failure_message,
              provider_key, provider_charge_id, reconcile_attempts, next_reconcile_at, created_at, updated_at, ${micros('created_at', 'created_us')}
         FROM payments WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  /** The idempotency keys still stored for these operation ids (the sweeper deletes finished ones after their TTL). */
  keys(payment: PaymentDetail, operationIds: string[]): Promise<KeyRecord[]> {
    return this.db.query(
      `SELECT key, route, recovery_point, locked_at, response_status, created_at, finished_at,
              ${micros('created_at', 'created_us')}, ${micros('finished_at', 'finished_us')}, ${micros('locked_at', 'locked_us')}
         FROM idempotency_keys WHERE merchant_id = $1 AND mode = $2 AND key = ANY($3::text[]) ORDER BY id`,
      [payment.merchant_id, payment.mode, operationIds],
    );
  }

  attempts(payment: PaymentDetail): Promise<ProviderAttemptRecord[]> {
    return this.db.query(
      `SELECT id::text AS id, provider, operation, provider_key, refund_id, attempt, waited_ms, outcome, http_status, error, latency_ms, created_at, ${micros('created_at', 'created_us')}
         FROM provider_attempts WHERE merchant_id = $1 AND payment_id = $2 ORDER BY id`,
      [payment.merchant_id, payment.id],
    );
  }

  transitions(payment: PaymentDetail): Promise<TransitionRecord[]> {
    return this.db.query(
      `SELECT id::text AS id, from_status, to_status, reason, created_at, ${micros('created_at', 'created_us')}
         FROM payment_transitions WHERE merchant_id = $1 AND payment_id = $2 ORDER BY id`,
      [payment.merchant_id, payment.id],
    );
  }

  refunds(payment: PaymentDetail): Promise<RefundRecord[]> {
    return this.db.query(
      `SELECT id, operation_id, amount, currency, reason, status, failure_code, failure_message, created_at, updated_at, ${micros('created_at', 'created_us')}
         FROM refunds WHERE merchant_id = $1 AND payment_id = $2 ORDER BY id`,
      [payment.merchant_id, payment.id],
    );
  }

  events(payment: PaymentDetail): Promise<EventRecord[]> {
    return this.db.query(
      `SELECT id, type, sequence, refund_id, created_at, published_at, ${micros('created_at', 'created_us')}
         FROM events WHERE merchant_id = $1 AND payment_id = $2 ORDER BY sequence`,
      [payment.merchant_id, payment.id],
    );
  }

  deliveries(payment: PaymentDetail, eventIds: string[]): Promise<DeliveryRecord[]> {
    return this.db.query(
      `SELECT d.id, d.event_id, d.endpoint_id, e.url, d.status, d.attempts, d.next_attempt_at, d.last_http_status, d.last_error, d.delivered_at, d.created_at,
              ${micros('d.created_at', 'created_us')}
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.merchant_id = $1 AND d.event_id = ANY($2::text[]) ORDER BY d.id`,
      [payment.merchant_id, eventIds],
    );
  }

  deliveryAttempts(payment: PaymentDetail, deliveryIds: string[]): Promise<AttemptRow[]> {
    return this.db.query(
      `SELECT delivery_id, attempt, http_status, error, latency_ms, created_at
         FROM webhook_delivery_attempts WHERE merchant_id = $1 AND delivery_id = ANY($2::text[]) ORDER BY delivery_id, attempt`,
      [payment.merchant_id, deliveryIds],
    );
  }
}
