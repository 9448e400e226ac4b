import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** What waits in the database for background work, as the metrics report it. */
export interface Backlog {
  inboxBacklog: number;
  inboxDead: number;
  outboxLagSeconds: number;
  deliveryLagSeconds: number;
  paymentsAwaitingReconcile: number;
  refundsAwaitingReconcile: number;
}

/** Counts stop here: past it a gauge says "at least this many", and a scrape stays cheap however large a backlog grows. */
export const BACKLOG_COUNT_CAP = 100_000;

@Injectable()
export class BacklogRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * One round trip, each part on a partial index: provider events not yet applied (received, or
   * failed and due again) and dead; the age of the oldest event not fanned out and of the oldest
   * delivery overdue; payments (next_reconcile_at is set only while processing) and refunds whose
   * outcome is unknown.
   */
  async read(): Promise<Backlog> {
    const [row] = await this.db.query(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM inbox_events WHERE status = 'received' LIMIT $1) x)::int AS inbox_backlog,
              (SELECT count(*) FROM (SELECT 1 FROM inbox_events WHERE status = 'dead' LIMIT $1) x)::int AS inbox_dead,
              coalesce(extract(epoch FROM now() - (SELECT min(created_at) FROM events WHERE published_at IS NULL)), 0)::float8 AS outbox_lag,
              coalesce(extract(epoch FROM now() - (SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now())), 0)::float8 AS delivery_lag,
              (SELECT count(*) FROM (SELECT 1 FROM payments WHERE next_reconcile_at IS NOT NULL LIMIT $1) x)::int AS payments,
              (SELECT count(*) FROM (SELECT 1 FROM refunds WHERE status = 'processing' LIMIT $1) x)::int AS refunds`,
      [BACKLOG_COUNT_CAP],
    );
    return {
      inboxBacklog: row.inbox_backlog,
      inboxDead: row.inbox_dead,
      outboxLagSeconds: Math.max(0, row.outbox_lag),
      deliveryLagSeconds: Math.max(0, row.delivery_lag),
      paymentsAwaitingReconcile: row.payments,
      refundsAwaitingReconcile: row.refunds,
    };
  }
}
