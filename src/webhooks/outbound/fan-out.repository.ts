import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { newId } from '../../common/ids.js';

interface Pair {
  event_id: string;
  endpoint_id: string;
  merchant_id: string;
  mode: string;
}

/** The outbox relay's SQL: unpublished events become deliveries. */
@Injectable()
export class FanOutRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Takes up to `limit` unpublished events, oldest first, creates a pending delivery for each
   * endpoint of their merchant and mode that is enabled, subscribed to the type (or to `*`) and
   * existed when the event happened, and marks them published: all in one transaction, so an event
   * is either still unpublished or has all its deliveries. SKIP LOCKED lets every instance relay at
   * once without taking an event twice. Returns how many events were published.
   */
  fanOutBatch(limit: number): Promise<number> {
    return this.db.transaction(async (m) => {
      const events: { id: string }[] = await m.query(
        `SELECT id FROM events WHERE published_at IS NULL ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (events.length === 0) return 0;
      const ids = events.map((e) => e.id);
      const pairs: Pair[] = await m.query(
        `SELECT ev.id AS event_id, e.id AS endpoint_id, ev.merchant_id, ev.mode
           FROM events ev
           JOIN webhook_endpoints e ON e.merchant_id = ev.merchant_id AND e.mode = ev.mode
          WHERE ev.id = ANY($1::text[]) AND e.status = 'enabled' AND e.created_at <= ev.created_at
            AND (ev.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))
          ORDER BY ev.created_at, ev.id`,
        [ids],
      );
      if (pairs.length > 0) {
        await m.query(
          `INSERT INTO webhook_deliveries (id, merchant_id, mode, event_id, endpoint_id, next_attempt_at)
           SELECT id, merchant_id, mode, event_id, endpoint_id, now()
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS d(id, merchant_id, mode, event_id, endpoint_id)
           ON CONFLICT ON CONSTRAINT uq_webhook_deliveries_event_endpoint DO NOTHING`,
          [
            pairs.map(() => newId('whd')),
            pairs.map((p) => p.merchant_id),
            pairs.map((p) => p.mode),
            pairs.map((p) => p.event_id),
            pairs.map((p) => p.endpoint_id),
          ],
        );
      }
      await m.query(`UPDATE events SET published_at = now() WHERE id = ANY($1::text[])`, [ids]);
      return events.length;
    });
  }
}
