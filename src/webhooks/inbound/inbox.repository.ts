import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { activeTraceparent } from '../../observability/trace-context.js';

export type InboxStatus = 'received' | 'applied' | 'ignored' | 'dead';

export interface InboxRow {
  id: string;
  provider: string;
  event_id: string;
  type: string;
  payload: string;
  status: InboxStatus;
  attempts: number;
  last_error: string | null;
  outcome: string | null;
  received_at: Date;
  processed_at: Date | null;
  next_attempt_at: Date;
  /** The webhook request's, for the run that applies the event. */
  traceparent: string | null;
}

/** What the CLI lists of an event: everything but the payload. */
export type InboxSummary = Omit<InboxRow, 'payload' | 'traceparent'>;

/**
 * The SQL of the provider inbox. A `received` event is due at `next_attempt_at`; whoever applies it
 * first leases it by pushing that time out, so a pg-boss job, the periodic pass and another instance
 * never apply one event at once, and an event whose worker died is due again when its lease ends.
 */
@Injectable()
export class InboxRepository {
  constructor(private readonly db: DataSource) {}

  /** The event's row id, or undefined when this provider's event is already stored (a duplicate). */
  async insert(m: EntityManager, provider: string, eventId: string, type: string, payload: string): Promise<string | undefined> {
    const rows: { id: string }[] = await m.query(
      `INSERT INTO inbox_events (provider, event_id, type, payload, traceparent) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ON CONSTRAINT uq_inbox_events_provider_event DO NOTHING RETURNING id::text`,
      [provider, eventId, type, payload, activeTraceparent()],
    );
    return rows[0]?.id;
  }

  /** Leases the event if it is received and due. */
  async lease(id: string, leaseMs: number): Promise<InboxRow | undefined> {
    const rows: InboxRow[] = await this.db.query(
      `WITH leased AS (
         UPDATE inbox_events SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
          WHERE id = $1 AND status = 'received' AND next_attempt_at <= now() RETURNING *)
       SELECT * FROM leased`,
      [id, leaseMs],
    );
    return rows[0];
  }

  /** Leases up to `limit` due events, the longest due first; SKIP LOCKED lets instances share them. */
  async leaseDue(leaseMs: number, limit: number): Promise<InboxRow[]> {
    return this.db.query(
      `WITH leased AS (
         UPDATE inbox_events SET next_attempt_at = now() + make_interval(secs => $1::double precision / 1000)
          WHERE id IN (SELECT id FROM inbox_events WHERE status = 'received' AND next_attempt_at <= now()
                        ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
          RETURNING *)
       SELECT * FROM leased ORDER BY next_attempt_at`,
      [leaseMs, limit],
    );
  }

  /** The event is done with: applied (what it changed) or ignored (why). */
  async finish(id: string, status: 'applied' | 'ignored', outcome: string): Promise<void> {
    await this.db.query(
      `UPDATE inbox_events SET status = $2, outcome = $3, processed_at = now() WHERE id = $1 AND status = 'received'`,
      [id, status, outcome],
    );
  }

  /** A failed try: due again after `retryAfterMs`, or `dead` once it has had `maxAttempts`. Returns the status it is left in. */
  async fail(id: string, error: string, maxAttempts: number, retryAfterMs: number): Promise<InboxStatus | undefined> {
    const rows: { status: InboxStatus }[] = await this.db.query(
      `WITH failed AS (
         UPDATE inbox_events
            SET attempts = attempts + 1, last_error = $2,
                status = CASE WHEN attempts + 1 >= $3 THEN 'dead' ELSE 'received' END,
                processed_at = CASE WHEN attempts + 1 >= $3 THEN now() END,
                next_attempt_at = now() + make_interval(secs => $4::double precision / 1000)
          WHERE id = $1 AND status = 'received' RETURNING status)
       SELECT status FROM failed`,
      [id, error, maxAttempts, retryAfterMs],
    );
    return rows[0]?.status;
  }

  /** Newest first. */
  list(status: InboxStatus | undefined, limit: number): Promise<InboxSummary[]> {
    return this.db.query(
      `SELECT id::text AS id, provider, event_id, type, status, attempts, last_error, outcome, received_at, processed_at, next_attempt_at
         FROM inbox_events WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2`,
      [status ?? null, limit],
    );
  }

  /** Back to `received` with its tries forgotten, due now; returns the ids redriven. */
  async redrive(ids: string[] | 'dead'): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `WITH redriven AS (
         UPDATE inbox_events SET status = 'received', attempts = 0, last_error = NULL, outcome = NULL, processed_at = NULL, next_attempt_at = now()
          WHERE CASE WHEN $1::bigint[] IS NULL THEN status = 'dead' ELSE id = ANY($1::bigint[]) END
          RETURNING id)
       SELECT id::text AS id FROM redriven ORDER BY id`,
      [ids === 'dead' ? null : ids],
    );
    return rows.map((row) => row.id);
  }
}
