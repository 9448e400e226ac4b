import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import { newId } from '../common/ids.js';
import { activeTraceparent } from '../observability/trace-context.js';

export interface OutboxEvent {
  paymentId: string;
  /** Set on a refund's events. */
  refundId?: string;
  type: string;
  /** The payment or refund in its v1 shape, as this change left it: the event's `data.object`. */
  resource: unknown;
}

/**
 * The transactional outbox: an event is written by the same transaction as the state change it
 * reports, so a change is never committed without its event, nor an event without its change.
 * The resource is kept as JSON text, so every delivery and read of the event carries the same bytes.
 *
 * An event no enabled endpoint subscribes to is written already published: the relay would only
 * mark it so, a second write of the row on every state change of every merchant without endpoints.
 * It keeps the traceparent of the request or job that made the change, which its deliveries carry on.
 */
/**
 * The SQL of a new event's `published_at`, given the SQL of its merchant, mode and type: null (for
 * the relay) while an enabled endpoint subscribes to it, else now. The create's one-statement phase uses it too.
 */
export function publishedAtSql(merchant: string, mode: string, type: string): string {
  return `CASE WHEN EXISTS (
      SELECT 1 FROM webhook_endpoints w
       WHERE w.merchant_id = ${merchant} AND w.mode = ${mode} AND w.status = 'enabled' AND ('*' = ANY (w.enabled_events) OR ${type} = ANY (w.enabled_events)))
    THEN NULL ELSE now() END`;
}

@Injectable()
export class Outbox {
  /** Must run inside the transaction that changed the payment, with the payment's row locked. */
  async append(m: EntityManager, auth: AuthContext, event: OutboxEvent): Promise<void> {
    await m.query(
      `INSERT INTO events (id, merchant_id, mode, payment_id, refund_id, sequence, type, resource, published_at, traceparent)
       SELECT $1, $2, $3, $4, $5, coalesce(max(sequence), 0) + 1, $6, $7, ${publishedAtSql('$2', '$3', '$6')}, $8
         FROM events WHERE merchant_id = $2 AND payment_id = $4`,
      [newId('evt'), auth.merchantId, auth.mode, event.paymentId, event.refundId ?? null, event.type, JSON.stringify(event.resource), activeTraceparent()],
    );
  }
}
