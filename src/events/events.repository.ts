import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import { isIdOf } from '../common/ids.js';
import type { EventRow } from './event.js';

const COLUMNS = 'id, merchant_id, mode, payment_id, type, sequence, resource, created_at';

export interface EventFilter {
  type?: string;
  paymentId?: string;
}

/**
 * Reads of the outbox. Events written before they carried their resource (older than webhooks)
 * were never sent to anyone and are not served: there is nothing to put in their `data.object`.
 */
@Injectable()
export class EventsRepository {
  constructor(private readonly db: DataSource) {}

  async findById(auth: AuthContext, id: string): Promise<EventRow | undefined> {
    // Any string can arrive from a URL, NUL bytes included, which Postgres refuses as a parameter.
    if (!isIdOf('evt', id)) return undefined;
    const rows: EventRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM events WHERE merchant_id = $1 AND mode = $2 AND id = $3 AND resource IS NOT NULL`,
      [auth.merchantId, auth.mode, id],
    );
    return rows[0];
  }

  /** Newest first; `limit + 1` rows are read to tell whether there is a next page. */
  list(auth: AuthContext, filter: EventFilter, limit: number, startingAfter: string | undefined): Promise<EventRow[]> {
    return this.db.query(
      `SELECT ${COLUMNS} FROM events
        WHERE merchant_id = $1 AND mode = $2 AND resource IS NOT NULL AND ($3::text IS NULL OR id < $3)
          AND ($4::text IS NULL OR type = $4) AND ($5::text IS NULL OR payment_id = $5)
        ORDER BY id DESC LIMIT $6`,
      [auth.merchantId, auth.mode, startingAfter ?? null, filter.type ?? null, filter.paymentId ?? null, limit + 1],
    );
  }
}
