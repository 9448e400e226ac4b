import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { InboxStatus } from '../webhooks/inbound/inbox.repository.js';

export interface InboxRecord {
  id: string;
  provider: string;
  event_id: string;
  type: string;
  status: InboxStatus;
  attempts: number;
  last_error: string | null;
  outcome: string | null;
  received_at: Date;
  processed_at: Date | null;
  next_attempt_at: Date;
  /** The start of the payload as received, enough to see what it is about. */
  payload: string;
}

export interface OutboxRecord {
  id: string;
  merchant_id: string;
  mode: string;
  payment_id: string;
  refund_id: string | null;
  type: string;
  sequence: number;
  created_at: Date;
}

/** A delivery with what an operator needs beside it: the endpoint, and the event and payment it carries. */
export interface QueuedDelivery {
  id: string;
  merchant_id: string;
  event_id: string;
  event_type: string;
  payment_id: string;
  endpoint_id: string;
  url: string;
  endpoint_status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_http_status: number | null;
  last_error: string | null;
  updated_at: Date;
}

export interface Backlog {
  count: number;
  oldest: Date | null;
}

const PAYLOAD_PREVIEW_CHARS = 2_000;

const QUEUED_DELIVERY_COLUMNS = `d.id, d.merchant_id, d.event_id, ev.type AS event_type, ev.payment_id, d.endpoint_id, e.url, e.status AS endpoint_status,
       e.disabled_reason, d.status, d.attempts, d.next_attempt_at, d.last_http_status, d.last_error, d.updated_at`;

/** The console's reads of the provider inbox, the outbox and the deliveries waiting or given up on. */
@Injectable()
export class ConsoleWebhooksRepository {
  constructor(private readonly db: DataSource) {}

  /** Newest first; `limit + 1` rows are read to tell whether there is an older page. */
  inbox(status: InboxStatus | undefined, before: string | undefined, limit: number): Promise<InboxRecord[]> {
    return this.db.query(
      `SELECT id::text AS id, provider, event_id, type, status, attempts, last_error, outcome, received_at, processed_at, next_attempt_at,
              left(payload, ${PAYLOAD_PREVIEW_CHARS}) AS payload
         FROM inbox_events
        WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3`,
      [status ?? null, before ?? null, limit + 1],
    );
  }

  /** The events still to be applied and those given up on (the partial index holds exactly these). */
  async inboxOpen(): Promise<{ received: number; dead: number }> {
    const rows: { status: string; count: number }[] = await this.db.query(
      `SELECT status, count(*)::int AS count FROM inbox_events WHERE status IN ('received', 'dead') GROUP BY status`,
    );
    return { received: rows.find((r) => r.status === 'received')?.count ?? 0, dead: rows.find((r) => r.status === 'dead')?.count ?? 0 };
  }

  /** Events the relay has not fanned out yet, oldest first. */
  unpublished(limit: number): Promise<OutboxRecord[]> {
    return this.db.query(
      `SELECT id, merchant_id, mode, payment_id, refund_id, type, sequence, created_at
         FROM events WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1`,
      [limit],
    );
  }

  async unpublishedBacklog(): Promise<Backlog> {
    const [row]: Backlog[] = await this.db.query(`SELECT count(*)::int AS count, min(created_at) AS oldest FROM events WHERE published_at IS NULL`);
    return row;
  }

  /** Deliveries waiting for their next attempt, the longest due first. */
  pendingDeliveries(limit: number): Promise<QueuedDelivery[]> {
    return this.db.query(
      `SELECT ${QUEUED_DELIVERY_COLUMNS}
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN events ev ON ev.id = d.event_id
        WHERE d.status = 'pending' ORDER BY d.next_attempt_at, d.id LIMIT $1`,
      [limit],
    );
  }

  async pendingBacklog(): Promise<Backlog> {
    const [row]: Backlog[] = await this.db.query(
      `SELECT count(*)::int AS count, min(next_attempt_at) AS oldest FROM webhook_deliveries WHERE status = 'pending'`,
    );
    return row;
  }

  /** Deliveries given up on, the most recent first. */
  deadDeliveries(limit: number): Promise<QueuedDelivery[]> {
    return this.db.query(
      `SELECT ${QUEUED_DELIVERY_COLUMNS}
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN events ev ON ev.id = d.event_id
        WHERE d.status = 'dead' ORDER BY d.updated_at DESC, d.id DESC LIMIT $1`,
      [limit],
    );
  }

  async deadCount(): Promise<number> {
    const [row]: { count: number }[] = await this.db.query(`SELECT count(*)::int AS count FROM webhook_deliveries WHERE status = 'dead'`);
    return row.count;
  }
}
