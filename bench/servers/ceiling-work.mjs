/**
 * What the ceilings and the peer store and send, shared so they differ only where the brief says:
 * the schema (a small copy of idempay's two tables), the stored-answer lookup, ceiling A's one
 * transaction, and ceiling B's two transactions around the charge call.
 *
 * Every transaction here is a single statement (writable CTEs), so each costs one round trip and one
 * commit: that is the floor a hand-written server can reach, which is what a ceiling is for.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { Agent, request } from 'undici';

// Idempay's own tables have more columns; these keep the constraints and the indexes that make its
// writes cost what they cost (the unique keys, the sweeper's index, the list index).
export const SCHEMA = `
  CREATE TABLE idempotency_keys (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id      text NOT NULL,
    key              text NOT NULL,
    fingerprint      text NOT NULL,
    recovery_point   text NOT NULL DEFAULT 'started',
    resource_id      text,
    locked_at        timestamptz,
    response_status  integer,
    response_body    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CONSTRAINT uq_idempotency_keys_merchant_key UNIQUE (merchant_id, key)
  );
  CREATE INDEX ix_idempotency_keys_finished_created ON idempotency_keys (created_at) WHERE recovery_point = 'finished';
  CREATE TABLE payments (
    id                  text PRIMARY KEY,
    merchant_id         text NOT NULL,
    operation_id        text NOT NULL,
    amount              bigint NOT NULL CHECK (amount > 0),
    currency            text NOT NULL,
    payment_method      text NOT NULL,
    status              text NOT NULL,
    provider_key        text NOT NULL,
    provider_charge_id  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_payments_merchant_operation UNIQUE (merchant_id, operation_id)
  );
  CREATE INDEX ix_payments_merchant_id ON payments (merchant_id, id DESC);
`;

/** The ceilings have no authentication: every request is this merchant's. */
export const MERCHANT = 'mer_bench';

export function openPool() {
  return new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
}

export function fingerprintOf(body) {
  return createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex');
}

/** The client error of a body that is not a payment, or undefined. */
export function invalidPayment(body) {
  if (!body || !Number.isInteger(body.amount) || body.amount <= 0) return 'amount must be a positive integer';
  if (typeof body.currency !== 'string' || !/^[a-z]{3}$/.test(body.currency)) return 'currency must be three lowercase letters';
  if (typeof body.payment_method !== 'string' || body.payment_method === '') return 'payment_method is required';
  return undefined;
}

const newPaymentId = () => `pay_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;

function paymentBody(p) {
  return JSON.stringify({
    id: p.id,
    object: 'payment',
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    payment_method: p.payment_method,
    operation_id: p.operation_id,
    created_at: p.created_at,
  });
}

/**
 * What a key already holds: `{ status, body }` to replay, `{ status: 409 }` while it runs, `{ status: 422 }`
 * for another request under the same key, or undefined for a new key.
 */
export async function storedAnswer(pool, key, fingerprint) {
  const { rows } = await pool.query(
    `SELECT fingerprint, response_status, response_body FROM idempotency_keys WHERE merchant_id = $1 AND key = $2`,
    [MERCHANT, key],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.fingerprint !== fingerprint) return { status: 422, body: JSON.stringify({ error: 'idempotency_key_reused' }) };
  if (row.response_status === null) return { status: 409, body: JSON.stringify({ error: 'idempotency_key_in_use' }) };
  return { status: row.response_status, body: row.response_body, replayed: true };
}

/** Ceiling A: key, payment and stored answer in one statement; undefined when the key already existed. */
export async function createInOneTransaction(pool, key, fingerprint, body) {
  // No provider call: the answer is the one a successful charge would give, so its shape is B's.
  const payment = { ...body, id: newPaymentId(), status: 'succeeded', operation_id: key, created_at: new Date().toISOString() };
  const answer = paymentBody(payment);
  const { rowCount } = await pool.query(
    `WITH key AS (
       INSERT INTO idempotency_keys (merchant_id, key, fingerprint, recovery_point, resource_id, response_status, response_body, finished_at)
       VALUES ($1, $2, $3, 'finished', $4, 201, $5, now())
       ON CONFLICT ON CONSTRAINT uq_idempotency_keys_merchant_key DO NOTHING
       RETURNING 1)
     INSERT INTO payments (id, merchant_id, operation_id, amount, currency, payment_method, status, provider_key, created_at, updated_at)
     SELECT $4, $1, $2, $6, $7, $8, 'succeeded', $4 || ':charge', $9, $9 FROM key`,
    [MERCHANT, key, fingerprint, payment.id, answer, body.amount, body.currency, body.payment_method, payment.created_at],
  );
  return rowCount === 1 ? { status: 201, body: answer } : undefined;
}

/** Ceiling B's transaction 1: the key (leased) and the pending payment; undefined when the key already existed. */
export async function insertKeyAndPayment(pool, key, fingerprint, body) {
  const id = newPaymentId();
  const { rows } = await pool.query(
    `WITH key AS (
       INSERT INTO idempotency_keys (merchant_id, key, fingerprint, recovery_point, resource_id, locked_at)
       VALUES ($1, $2, $3, 'payment_created', $4, now())
       ON CONFLICT ON CONSTRAINT uq_idempotency_keys_merchant_key DO NOTHING
       RETURNING 1)
     INSERT INTO payments (id, merchant_id, operation_id, amount, currency, payment_method, status, provider_key)
     SELECT $4, $1, $2, $5, $6, $7, 'pending', $4 || ':charge' FROM key
     RETURNING id, operation_id, amount::int, currency, payment_method, status, provider_key, created_at`,
    [MERCHANT, key, fingerprint, id, body.amount, body.currency, body.payment_method],
  );
  return rows[0];
}

// The same client settings as idempay's provider (undici, keep-alive, 128 connections).
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });

/** The provider call, under the provider key derived from the payment id; returns the charge. */
export async function charge(payment) {
  const response = await request(new URL('/v1/charges', process.env.SANDBOX_URL), {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', 'idempotency-key': payment.provider_key },
    body: JSON.stringify({ amount: payment.amount, currency: payment.currency, payment_method: payment.payment_method, reference: payment.id }),
  });
  const answer = await response.body.json();
  if (response.statusCode !== 200) throw new Error(`the sandbox answered ${response.statusCode}: ${JSON.stringify(answer)}`);
  return answer;
}

/** Ceiling B's transaction 2: the payment's outcome and the key's stored answer; returns the answer. */
export async function finishPayment(pool, payment, charged) {
  const answer = paymentBody({ ...payment, status: charged.status, created_at: payment.created_at.toISOString() });
  await pool.query(
    `WITH payment AS (
       UPDATE payments SET status = $3, provider_charge_id = $4, updated_at = now() WHERE id = $1 RETURNING operation_id)
     UPDATE idempotency_keys SET recovery_point = 'finished', response_status = 201, response_body = $5, locked_at = NULL, finished_at = now()
      WHERE merchant_id = $2 AND key = (SELECT operation_id FROM payment)`,
    [payment.id, MERCHANT, charged.status, charged.id, answer],
  );
  return { status: 201, body: answer };
}
