import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext, Mode } from '../auth/auth-context.js';
import { activeTraceparent } from '../observability/trace-context.js';
import type { IdempotentRequest } from './claimed-key.js';
import type { StoredResponse } from './stored-response.js';

export interface IdempotencyKeyRow {
  id: string;
  merchant_id: string;
  mode: Mode;
  key: string;
  method: string;
  route: string;
  path: string;
  path_params: Record<string, string>;
  fingerprint: string;
  request_params: Record<string, unknown>;
  recovery_point: string;
  resource_id: string | null;
  locked_by: string | null;
  lease_fresh: boolean;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  traceparent: string | null;
  created_at: Date;
}

const COLUMNS = `id::text, merchant_id, mode, key, method, route, path, path_params, fingerprint, request_params,
  recovery_point, resource_id, locked_by, response_status, response_headers, response_body, traceparent, created_at`;

@Injectable()
export class IdempotencyRepository {
  constructor(private readonly db: DataSource) {}

  /** Inserts the key already leased to `owner`; undefined when the key exists. */
  async insertClaimed(
    m: EntityManager,
    auth: AuthContext,
    key: string,
    request: IdempotentRequest,
    fingerprint: string,
    owner: string,
  ): Promise<IdempotencyKeyRow | undefined> {
    const rows: IdempotencyKeyRow[] = await m.query(
      `INSERT INTO idempotency_keys
         (merchant_id, mode, key, method, route, path, path_params, fingerprint, request_params, locked_at, locked_by, traceparent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), $10, $11)
       ON CONFLICT ON CONSTRAINT uq_idempotency_keys_merchant_mode_key DO NOTHING
       RETURNING ${COLUMNS}, true AS lease_fresh`,
      [auth.merchantId, auth.mode, key, request.method, request.route, request.path, request.pathParams, fingerprint, request.body, owner, activeTraceparent()],
    );
    return rows[0];
  }

  async lockByKey(m: EntityManager, auth: AuthContext, key: string, leaseMs: number): Promise<IdempotencyKeyRow | undefined> {
    const rows: IdempotencyKeyRow[] = await m.query(
      `SELECT ${COLUMNS},
              (locked_by IS NOT NULL AND locked_at > now() - make_interval(secs => $4::double precision / 1000)) AS lease_fresh
         FROM idempotency_keys WHERE merchant_id = $1 AND mode = $2 AND key = $3 FOR UPDATE`,
      [auth.merchantId, auth.mode, key, leaseMs],
    );
    return rows[0];
  }

  /**
   * The key without a lock. A finished key's row no longer changes, nor does any key's request, so
   * a replay or a 422 needs no transaction; neither does learning there is no such key.
   */
  async find(auth: AuthContext, key: string): Promise<IdempotencyKeyRow | undefined> {
    const rows: IdempotencyKeyRow[] = await this.db.query(
      `SELECT ${COLUMNS}, false AS lease_fresh FROM idempotency_keys
        WHERE merchant_id = $1 AND mode = $2 AND key = $3`,
      [auth.merchantId, auth.mode, key],
    );
    return rows[0];
  }

  async takeLease(m: EntityManager, id: string, owner: string): Promise<void> {
    await m.query(`UPDATE idempotency_keys SET locked_at = now(), locked_by = $2 WHERE id = $1`, [id, owner]);
  }

  /** Locks the row for this transaction if `owner` still holds its lease. */
  async lockOwned(m: EntityManager, id: string, owner: string): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `SELECT 1 FROM idempotency_keys WHERE id = $1 AND locked_by = $2 AND recovery_point <> 'finished' FOR UPDATE`,
      [id, owner],
    );
    return rows.length === 1;
  }

  async setRecoveryPoint(m: EntityManager, id: string, recoveryPoint: string, resourceId: string | null): Promise<void> {
    await m.query(
      `UPDATE idempotency_keys SET recovery_point = $2, resource_id = coalesce($3, resource_id), locked_at = now() WHERE id = $1`,
      [id, recoveryPoint, resourceId],
    );
  }

  async finish(m: EntityManager, id: string, response: StoredResponse): Promise<void> {
    await m.query(
      `UPDATE idempotency_keys
          SET recovery_point = 'finished', response_status = $2, response_headers = $3, response_body = $4,
              locked_at = NULL, locked_by = NULL, finished_at = now()
        WHERE id = $1`,
      [id, response.status, response.headers, response.body],
    );
  }

  async delete(m: EntityManager, id: string): Promise<void> {
    await m.query(`DELETE FROM idempotency_keys WHERE id = $1`, [id]);
  }

  /** Gives the lease up but keeps the recovery point and the time, so a retry or the completer resumes. */
  async release(id: string, owner: string): Promise<void> {
    await this.db.query(`UPDATE idempotency_keys SET locked_by = NULL WHERE id = $1 AND locked_by = $2`, [id, owner]);
  }

  /**
   * Deletes up to `limit` keys still at `started` that nobody has touched for a whole lease: nothing
   * left the database for them, so they are released, never carried out. Returns how many.
   */
  async deleteStaleStarted(leaseMs: number, limit: number): Promise<number> {
    const rows: { deleted: number }[] = await this.db.query(
      `WITH deleted AS (
         DELETE FROM idempotency_keys
          WHERE id IN (SELECT id FROM idempotency_keys
                        WHERE recovery_point = 'started'
                          AND locked_at < now() - make_interval(secs => $1::double precision / 1000)
                        ORDER BY locked_at LIMIT $2 FOR UPDATE SKIP LOCKED)
          RETURNING 1)
       SELECT count(*)::int AS deleted FROM deleted`,
      [leaseMs, limit],
    );
    return rows[0].deleted;
  }

  /**
   * Leases the key past `started` and unfinished that has gone untouched longest, if it has for a
   * whole lease (its owner died or gave up): its provider call may have been made. One at a time, so
   * the lease covers that key's own work, not a wait behind others'. SKIP LOCKED lets any number of
   * completers on any number of instances share the work.
   */
  async leaseStale(leaseMs: number, owner: string): Promise<IdempotencyKeyRow | undefined> {
    const rows: IdempotencyKeyRow[] = await this.db.query(
      `WITH leased AS (
         UPDATE idempotency_keys SET locked_at = now(), locked_by = $2
          WHERE id = (SELECT id FROM idempotency_keys
                       WHERE recovery_point NOT IN ('started', 'finished')
                         AND locked_at < now() - make_interval(secs => $1::double precision / 1000)
                       ORDER BY locked_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING ${COLUMNS}, true AS lease_fresh)
       SELECT * FROM leased`,
      [leaseMs, owner],
    );
    return rows[0];
  }

  /** Deletes one batch of finished keys older than the TTL; returns how many it deleted. */
  async deleteExpiredBatch(ttlHours: number, batchSize: number): Promise<number> {
    const rows: { deleted: number }[] = await this.db.query(
      `WITH deleted AS (
         DELETE FROM idempotency_keys
          WHERE id IN (SELECT id FROM idempotency_keys
                        WHERE recovery_point = 'finished' AND created_at < now() - make_interval(hours => $1)
                        LIMIT $2 FOR UPDATE SKIP LOCKED)
          RETURNING 1)
       SELECT count(*)::int AS deleted FROM deleted`,
      [ttlHours, batchSize],
    );
    return rows[0].deleted;
  }
}
