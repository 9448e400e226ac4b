import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { newId } from '../../src/common/ids.js';

export interface TestEndpoint {
  id: string;
  secret: string;
}

/**
 * A webhook endpoint and its signing secret, written straight as the endpoints API stores them: the
 * delivery tests need many endpoints in given states (URLs the API would refuse, the other mode,
 * secrets already expired) and only their rows. One test goes through the API itself.
 */
export async function createEndpoint(
  db: DataSource,
  merchantId: string,
  url: string,
  { events = ['*'], mode = 'test' }: { events?: string[]; mode?: 'test' | 'live' } = {},
): Promise<TestEndpoint> {
  const id = newId('we');
  await db.query(`INSERT INTO webhook_endpoints (id, merchant_id, mode, url, enabled_events) VALUES ($1, $2, $3, $4, $5)`, [id, merchantId, mode, url, events]);
  return { id, secret: await addSecret(db, merchantId, id) };
}

/** Another secret for the endpoint, as a rotation adds one; `expiresInMs` sets when it stops signing. */
export async function addSecret(db: DataSource, merchantId: string, endpointId: string, expiresInMs?: number): Promise<string> {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  await db.query(
    `INSERT INTO webhook_endpoint_secrets (merchant_id, endpoint_id, secret, expires_at)
     VALUES ($1, $2, $3, CASE WHEN $4::double precision IS NULL THEN NULL ELSE now() + make_interval(secs => $4::double precision / 1000) END)`,
    [merchantId, endpointId, secret, expiresInMs ?? null],
  );
  return secret;
}
