import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext } from '../../auth/auth-context.js';
import { isIdOf, newId } from '../../common/ids.js';
import type { AttemptRow, DeliveryRow } from './webhook-delivery.js';

const DELIVERY_COLUMNS = 'id, event_id, endpoint_id, status, attempts, next_attempt_at, last_http_status, last_error, delivered_at, created_at';

/** What a delivery was for, to queue it again. */
export interface DeliveryTarget {
  merchant_id: string;
  mode: AuthContext['mode'];
  event_id: string;
  endpoint_id: string;
}

export interface EndpointTarget {
  id: string;
  status: 'enabled' | 'disabled';
  enabled_events: string[];
}

/** Deliveries as the API shows them, and the redelivery that re-queues them. */
@Injectable()
export class DeliveriesRepository {
  constructor(private readonly db: DataSource) {}

  async findEndpoint(auth: AuthContext, id: string, m: EntityManager = this.db.manager): Promise<EndpointTarget | undefined> {
    // Any string can arrive from a URL or a body, NUL bytes included, which Postgres refuses as a parameter.
    if (!isIdOf('we', id)) return undefined;
    const rows: EndpointTarget[] = await m.query(
      `SELECT id, status, enabled_events FROM webhook_endpoints WHERE merchant_id = $1 AND mode = $2 AND id = $3`,
      [auth.merchantId, auth.mode, id],
    );
    return rows[0];
  }

  async findDelivery(id: string): Promise<DeliveryTarget | undefined> {
    if (!isIdOf('whd', id)) return undefined;
    const rows: DeliveryTarget[] = await this.db.query(`SELECT merchant_id, mode, event_id, endpoint_id FROM webhook_deliveries WHERE id = $1`, [id]);
    return rows[0];
  }

  /** The enabled endpoints of the merchant and mode that take events of `type`. */
  subscribedEndpoints(m: EntityManager, auth: AuthContext, type: string): Promise<EndpointTarget[]> {
    return m.query(
      `SELECT id, status, enabled_events FROM webhook_endpoints
        WHERE merchant_id = $1 AND mode = $2 AND status = 'enabled' AND ($3 = ANY(enabled_events) OR '*' = ANY(enabled_events))
        ORDER BY id`,
      [auth.merchantId, auth.mode, type],
    );
  }

  /**
   * Queues the event for each endpoint: a new pending delivery, or the existing one (whatever its
   * status) back to pending, due now, with a fresh retry schedule from the attempts it has made.
   */
  requeue(m: EntityManager, auth: AuthContext, eventId: string, endpointIds: string[]): Promise<DeliveryRow[]> {
    return m.query(
      `INSERT INTO webhook_deliveries (id, merchant_id, mode, event_id, endpoint_id, next_attempt_at)
       SELECT d.id, $1, $2, $3, d.endpoint_id, now() FROM unnest($4::text[], $5::text[]) AS d(id, endpoint_id)
       ON CONFLICT ON CONSTRAINT uq_webhook_deliveries_event_endpoint DO UPDATE
          SET status = 'pending', next_attempt_at = now(), retry_from = webhook_deliveries.attempts, delivered_at = NULL, updated_at = now()
       RETURNING ${DELIVERY_COLUMNS}`,
      [auth.merchantId, auth.mode, eventId, endpointIds.map(() => newId('whd')), endpointIds],
    );
  }

  /** Newest first; `limit + 1` rows are read to tell whether there is a next page. */
  listForEndpoint(auth: AuthContext, endpointId: string, limit: number, startingAfter: string | undefined): Promise<DeliveryRow[]> {
    return this.db.query(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
        WHERE merchant_id = $1 AND endpoint_id = $2 AND ($3::text IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [auth.merchantId, endpointId, startingAfter ?? null, limit + 1],
    );
  }

  attemptsOf(auth: AuthContext, deliveryIds: string[], m: EntityManager = this.db.manager): Promise<AttemptRow[]> {
    return m.query(
      `SELECT delivery_id, attempt, http_status, error, latency_ms, created_at FROM webhook_delivery_attempts
        WHERE merchant_id = $1 AND delivery_id = ANY($2::text[]) ORDER BY delivery_id, attempt`,
      [auth.merchantId, deliveryIds],
    );
  }
}
