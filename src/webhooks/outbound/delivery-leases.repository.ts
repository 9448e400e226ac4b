import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EventRow } from '../../events/event.js';
import { DISABLED_FAILING, DISABLED_GONE, type DeliveryStatus } from './webhook-delivery.js';

/** A delivery this worker holds the lease on, with what it needs to send it. */
export interface DueDelivery {
  id: string;
  endpointId: string;
  merchantId: string;
  url: string;
  /** The endpoint's secrets that sign now: one, or two during a rotation's grace period. */
  secrets: string[];
  event: EventRow;
  attempts: number;
  retryFrom: number;
  /** The lease's end as Postgres wrote it (text, to the microsecond): the fence of the outcome's update. */
  lease: string;
  /** The event's: the trace of the request or job whose change the event reports. */
  traceparent: string | null;
}

/** What an attempt ended in, as the worker decided it. */
export interface AttemptOutcome {
  status: DeliveryStatus;
  httpStatus: number | null;
  error: string | null;
  latencyMs: number;
  /** When `status` is pending: the wait before the next attempt. */
  nextDelayMs: number | null;
  /** What the attempt says of the endpoint: healthy, failing, or gone (410). */
  endpoint: 'succeeded' | 'failed' | 'gone';
}

interface LeasedRow {
  id: string;
  endpoint_id: string;
  merchant_id: string;
  url: string;
  secrets: string[];
  attempts: number;
  retry_from: number;
  lease: string;
  event_id: string;
  mode: EventRow['mode'];
  payment_id: string;
  type: string;
  sequence: number;
  resource: string;
  event_created_at: Date;
  traceparent: string | null;
}

/** The delivery worker's SQL: leasing due deliveries and recording what each attempt did. */
@Injectable()
export class DeliveryLeasesRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Leases up to `limit` pending deliveries that are due, to enabled endpoints, and not leased by
   * anyone else (or whose lease ran out: its holder died or stalled), oldest due first. SKIP LOCKED
   * and the lease keep any other instance, or a duplicated run on this one, from sending them while
   * this one does. A disabled endpoint's deliveries wait, pending, until it is enabled again.
   */
  async leaseDue(limit: number, leaseMs: number): Promise<DueDelivery[]> {
    const rows: LeasedRow[] = await this.db.query(
      `WITH leased AS (
         UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $2::double precision / 1000)
          WHERE d.id IN (
            SELECT w.id FROM webhook_deliveries w JOIN webhook_endpoints e ON e.id = w.endpoint_id
             WHERE w.status = 'pending' AND w.next_attempt_at <= now()
               AND (w.leased_until IS NULL OR w.leased_until < now()) AND e.status = 'enabled'
             ORDER BY w.next_attempt_at LIMIT $1
             FOR UPDATE OF w SKIP LOCKED)
          RETURNING d.id, d.endpoint_id, d.merchant_id, d.event_id, d.attempts, d.retry_from, d.leased_until)
       SELECT l.id, l.endpoint_id, l.merchant_id, l.attempts, l.retry_from, l.leased_until::text AS lease, e.url,
              ARRAY(SELECT s.secret FROM webhook_endpoint_secrets s
                     WHERE s.endpoint_id = l.endpoint_id AND (s.expires_at IS NULL OR s.expires_at > now())
                     ORDER BY s.id) AS secrets,
              ev.id AS event_id, ev.mode, ev.payment_id, ev.type, ev.sequence, ev.resource, ev.created_at AS event_created_at, ev.traceparent
         FROM leased l
         JOIN webhook_endpoints e ON e.id = l.endpoint_id
         JOIN events ev ON ev.id = l.event_id`,
      [limit, leaseMs],
    );
    return rows.map((r) => ({
      id: r.id,
      endpointId: r.endpoint_id,
      merchantId: r.merchant_id,
      url: r.url,
      secrets: r.secrets,
      attempts: r.attempts,
      retryFrom: r.retry_from,
      lease: r.lease,
      traceparent: r.traceparent,
      event: {
        id: r.event_id,
        merchant_id: r.merchant_id,
        mode: r.mode,
        payment_id: r.payment_id,
        type: r.type,
        sequence: r.sequence,
        resource: r.resource,
        created_at: r.event_created_at,
      },
    }));
  }

  /**
   * Records an attempt, moves the delivery on and tells the endpoint's health, in one statement
   * (one round trip, one commit: the worker's cost per delivery), fenced by the lease: if the lease
   * was lost (it ran out and another worker took the delivery, or the endpoint was deleted) nothing
   * is written and false is returned. A redelivery requested while the attempt was in flight started
   * a fresh schedule (`retry_from` moved): it wins, and the attempt only counts towards it. The
   * endpoint's failure streak starts at the first failure after a success and ends at a success;
   * past `disableAfterMs` of it, or at a 410, the endpoint is switched off.
   */
  async record(delivery: DueDelivery, outcome: AttemptOutcome, disableAfterMs: number): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `WITH updated AS (
         UPDATE webhook_deliveries SET
                attempts = attempts + 1,
                last_http_status = $4, last_error = $5, leased_until = NULL, updated_at = now(),
                status = CASE WHEN retry_from = $3 THEN $6 ELSE 'pending' END,
                next_attempt_at = CASE
                  WHEN retry_from <> $3 THEN next_attempt_at
                  WHEN $6 = 'pending' THEN now() + make_interval(secs => $7::double precision / 1000)
                END,
                delivered_at = CASE WHEN retry_from = $3 AND $6 = 'delivered' THEN now() ELSE delivered_at END,
                retry_from = CASE WHEN retry_from = $3 THEN retry_from ELSE retry_from + 1 END
          WHERE id = $1 AND leased_until = $2::timestamptz
          RETURNING id, merchant_id, endpoint_id, attempts),
       attempt AS (
         INSERT INTO webhook_delivery_attempts (merchant_id, delivery_id, attempt, http_status, error, latency_ms)
         SELECT merchant_id, id, attempts, $4, $5, $8 FROM updated),
       endpoint AS (
         UPDATE webhook_endpoints e SET
                failing_since = CASE WHEN $9 = 'succeeded' THEN NULL ELSE coalesce(e.failing_since, now()) END,
                status = CASE WHEN $9 = 'gone' OR ($9 = 'failed' AND e.failing_since < now() - make_interval(secs => $10::double precision / 1000))
                              THEN 'disabled' ELSE e.status END,
                disabled_reason = CASE WHEN $9 = 'gone' THEN $11
                                       WHEN $9 = 'failed' AND e.failing_since < now() - make_interval(secs => $10::double precision / 1000) THEN $12
                                       ELSE e.disabled_reason END,
                updated_at = now()
          FROM updated u
          WHERE e.id = u.endpoint_id
            AND CASE WHEN $9 = 'succeeded' THEN e.failing_since IS NOT NULL ELSE e.status = 'enabled' END)
       SELECT id FROM updated`,
      [
        delivery.id,
        delivery.lease,
        delivery.retryFrom,
        outcome.httpStatus,
        outcome.error,
        outcome.status,
        outcome.nextDelayMs,
        outcome.latencyMs,
        outcome.endpoint,
        disableAfterMs,
        DISABLED_GONE,
        DISABLED_FAILING,
      ],
    );
    return rows.length === 1;
  }
}
