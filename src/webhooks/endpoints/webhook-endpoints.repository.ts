import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext } from '../../auth/auth-context.js';
import { isIdOf } from '../../common/ids.js';
import { DISABLED_BY_MERCHANT, type WebhookEndpointRow } from './webhook-endpoint.js';

export interface NewWebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  enabledEvents: string[];
  secret: string;
}

/** What a PATCH changes; an absent field keeps its value (`description: null` clears it). */
export interface WebhookEndpointChanges {
  url?: string;
  enabledEvents?: string[];
  description?: string | null;
  disabled?: boolean;
}

/** The SQL of webhook endpoints and their signing secrets. */
@Injectable()
export class WebhookEndpointsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Serialises the creations of one merchant and mode until the caller's transaction ends, so the
   * limit on endpoints holds under concurrent requests. An advisory lock, not the merchant's row:
   * a row lock would also hold up every payment insert (its foreign key takes a share lock there).
   */
  async lockCreations(m: EntityManager, auth: AuthContext): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`webhook_endpoints:${auth.merchantId}:${auth.mode}`]);
  }

  async count(m: EntityManager, auth: AuthContext): Promise<number> {
    const [{ n }]: { n: number }[] = await m.query(`SELECT count(*)::int AS n FROM webhook_endpoints WHERE merchant_id = $1 AND mode = $2`, [
      auth.merchantId,
      auth.mode,
    ]);
    return n;
  }

  /** The endpoint and its first secret, in one statement. */
  async insert(m: EntityManager, auth: AuthContext, e: NewWebhookEndpoint): Promise<WebhookEndpointRow> {
    const rows: WebhookEndpointRow[] = await m.query(
      `WITH endpoint AS (
         INSERT INTO webhook_endpoints (id, merchant_id, mode, url, description, enabled_events)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *),
       secret AS (
         INSERT INTO webhook_endpoint_secrets (merchant_id, endpoint_id, secret) SELECT merchant_id, id, $7 FROM endpoint)
       SELECT * FROM endpoint`,
      [e.id, auth.merchantId, auth.mode, e.url, e.description, e.enabledEvents, e.secret],
    );
    return rows[0];
  }

  async findById(auth: AuthContext, id: string, m: EntityManager = this.db.manager, lock = false): Promise<WebhookEndpointRow | undefined> {
    // Any string can arrive from a URL, NUL bytes included, which Postgres refuses as a parameter.
    if (!isIdOf('we', id)) return undefined;
    const rows: WebhookEndpointRow[] = await m.query(
      `SELECT * FROM webhook_endpoints WHERE merchant_id = $1 AND mode = $2 AND id = $3 ${lock ? 'FOR UPDATE' : ''}`,
      [auth.merchantId, auth.mode, id],
    );
    return rows[0];
  }

  /** Newest first; `limit + 1` rows are read to tell whether there is a next page. */
  list(auth: AuthContext, limit: number, startingAfter: string | undefined): Promise<WebhookEndpointRow[]> {
    return this.db.query(
      `SELECT * FROM webhook_endpoints
        WHERE merchant_id = $1 AND mode = $2 AND ($3::text IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [auth.merchantId, auth.mode, startingAfter ?? null, limit + 1],
    );
  }

  /**
   * Applies a PATCH to a locked endpoint. Switching a disabled endpoint back on clears why it was
   * disabled and its failure streak, and so does a new URL: a URL that has not been tried has not
   * failed. Switching off an endpoint the delivery worker already disabled keeps the worker's reason.
   */
  async update(m: EntityManager, id: string, c: WebhookEndpointChanges): Promise<WebhookEndpointRow> {
    const rows: WebhookEndpointRow[] = await m.query(
      // In a CTE: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
      `WITH updated AS (
       UPDATE webhook_endpoints SET
         url = coalesce($2, url),
         enabled_events = coalesce($3::text[], enabled_events),
         description = CASE WHEN $4 THEN $5 ELSE description END,
         status = CASE WHEN $6::boolean IS NULL THEN status WHEN $6 THEN 'disabled' ELSE 'enabled' END,
         disabled_reason = CASE WHEN $6::boolean IS NULL OR (status = 'disabled' AND $6) THEN disabled_reason
                                WHEN $6 THEN $7 END,
         failing_since = CASE WHEN (status = 'disabled' AND $6 = false) OR ($2 IS NOT NULL AND $2 <> url) THEN NULL
                              ELSE failing_since END,
         updated_at = now()
       WHERE id = $1
       RETURNING *)
       SELECT * FROM updated`,
      [id, c.url ?? null, c.enabledEvents ?? null, c.description !== undefined, c.description ?? null, c.disabled ?? null, DISABLED_BY_MERCHANT],
    );
    return rows[0];
  }

  async delete(auth: AuthContext, id: string): Promise<boolean> {
    if (!isIdOf('we', id)) return false;
    const rows: unknown[] = await this.db.query(
      `WITH deleted AS (DELETE FROM webhook_endpoints WHERE merchant_id = $1 AND mode = $2 AND id = $3 RETURNING id) SELECT id FROM deleted`,
      [auth.merchantId, auth.mode, id],
    );
    return rows.length === 1;
  }

  /**
   * Rotation, on a locked endpoint: the current secret expires after the grace period and signs
   * beside the new one until then; secrets whose grace has run out are deleted, since nothing signs
   * with them any more. Secrets still in an earlier grace period keep their own expiry.
   */
  async rotateSecret(m: EntityManager, endpoint: WebhookEndpointRow, secret: string, graceMs: number): Promise<WebhookEndpointRow> {
    await m.query(`DELETE FROM webhook_endpoint_secrets WHERE endpoint_id = $1 AND expires_at <= now()`, [endpoint.id]);
    await m.query(
      `UPDATE webhook_endpoint_secrets SET expires_at = now() + make_interval(secs => $2::double precision / 1000)
        WHERE endpoint_id = $1 AND expires_at IS NULL`,
      [endpoint.id, graceMs],
    );
    await m.query(`INSERT INTO webhook_endpoint_secrets (merchant_id, endpoint_id, secret) VALUES ($1, $2, $3)`, [endpoint.merchant_id, endpoint.id, secret]);
    const rows: WebhookEndpointRow[] = await m.query(
      `WITH touched AS (UPDATE webhook_endpoints SET updated_at = now() WHERE id = $1 RETURNING *) SELECT * FROM touched`,
      [endpoint.id],
    );
    return rows[0];
  }
}
