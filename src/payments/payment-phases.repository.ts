import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { queryPrepared } from '../database/prepared-statement.js';
import { publishedAtSql } from '../events/outbox.js';
import type { IdempotentCall } from '../idempotency/claimed-key.js';
import type { StoredResponse } from '../idempotency/stored-response.js';
import { activeTraceparent } from '../observability/trace-context.js';
import type { AttemptRecord } from '../provider/provider-attempts.repository.js';
import type { PaymentRow } from './payment.js';

export interface NewPayment {
  id: string;
  amount: number;
  currency: string;
  paymentMethod: string;
  description: string | null;
  metadata: Record<string, string>;
  providerKey: string;
}

/** What the create's first statement stored: nothing (the key exists), or the key and its payment. */
export type ClaimedPayment =
  | { keyId: string; keyCreatedAt: Date; payment: PaymentRow; sentAttemptId: string }
  /** The key is stored, but an earlier key with the same value (since swept) made this payment. */
  | { keyId: string; keyCreatedAt: Date; earlierPaymentId: string };

export interface ChargeOutcome {
  status: PaymentRow['status'];
  failureCode: string | null;
  failureMessage: string | null;
  chargeId: string | null;
  reconcileAfterMs: number;
  updatedAt: Date;
  reason: string;
  /** The outbox event: its id, type and `data.object` as JSON text. */
  event: { id: string; type: string; resource: string };
  response: StoredResponse;
}

/**
 * A new payment's two phases, one statement each: one round trip and one commit per phase, the
 * floor for "persist first, then call the provider". Each statement is atomic, so each phase is
 * still all or nothing; the rare cases a single statement cannot decide fall back to the phase as
 * separate statements in one transaction (see CreatePaymentOperation).
 */
@Injectable()
export class PaymentPhasesRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Phase 1: the claim, leased to `call.owner` at `payment_created`, the pending payment, and its
   * first charge attempt as `sent`; the key and the payment keep the request's traceparent, for the
   * completer and the reconciler. Undefined when the key already exists. A payment can only be
   * stored with its key, so when one already holds this operation_id its key was swept after its
   * TTL: the key is stored pointing at that payment, and no new one is made.
   */
  async claimWithPayment(call: IdempotentCall, p: NewPayment, provider: string): Promise<ClaimedPayment | undefined> {
    const { auth, request } = call;
    const rows = await queryPrepared<PaymentRow & { key_id: string; key_resource_id: string; key_created_at: Date; sent_attempt_id: string | null }>(
      this.db,
      'create-payment-claim',
      `WITH k AS (
         INSERT INTO idempotency_keys
           (merchant_id, mode, key, method, route, path, path_params, fingerprint, request_params, locked_at, locked_by, recovery_point, resource_id, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), $10, 'payment_created',
                 coalesce((SELECT id FROM payments WHERE merchant_id = $1 AND mode = $2 AND operation_id = $3), $11), $19)
         ON CONFLICT ON CONSTRAINT uq_idempotency_keys_merchant_mode_key DO NOTHING
         RETURNING id::text AS key_id, resource_id AS key_resource_id, created_at AS key_created_at),
       p AS (
         INSERT INTO payments (id, merchant_id, mode, operation_id, request_fingerprint, amount, currency,
                               payment_method, description, metadata, status, provider_key, traceparent)
         SELECT $11, $1, $2, $3, $8, $12, $13, $14, $15, $16, 'pending', $17, $19 FROM k WHERE k.key_resource_id = $11
         RETURNING *),
       a AS (
         INSERT INTO provider_attempts (merchant_id, payment_id, provider, operation, provider_key, attempt, outcome)
         SELECT merchant_id, id, $18, 'charge', provider_key, 1, 'sent' FROM p
         RETURNING id::text AS sent_attempt_id)
       SELECT k.*, a.sent_attempt_id, p.* FROM k LEFT JOIN p ON true LEFT JOIN a ON true`,
      [auth.merchantId, auth.mode, call.key, request.method, request.route, request.path, request.pathParams, call.fingerprint, request.body, call.owner,
        p.id, p.amount, p.currency, p.paymentMethod, p.description, p.metadata, p.providerKey, provider, activeTraceparent()],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { key_id: keyId, key_resource_id: resourceId, key_created_at: keyCreatedAt, sent_attempt_id: sentAttemptId, ...payment } = row;
    if (resourceId !== p.id) return { keyId, keyCreatedAt, earlierPaymentId: resourceId };
    if (!sentAttemptId) throw new Error(`payment ${p.id} was stored without its attempt`);
    return { keyId, keyCreatedAt, payment: payment as PaymentRow, sentAttemptId };
  }

  /**
   * Phase 2, when the payment is still `pending` and the key still leased to `owner`: the outcome,
   * its transition, the outbox event, the attempts' records and the stored answer. `lease-lost`: the
   * key was taken over, nothing was written. `not-pending`: the payment moved meanwhile, nothing was
   * written; the caller runs the phase as separate statements.
   */
  async storeOutcome(
    key: { id: string; owner: string },
    payment: PaymentRow,
    outcome: ChargeOutcome,
    sentAttemptId: string,
    attempts: AttemptRecord[],
  ): Promise<'stored' | 'lease-lost' | 'not-pending'> {
    const [first, ...rest] = attempts;
    const rows = await queryPrepared<{ owned: number; moved: number }>(
      this.db,
      'create-payment-outcome',
      `WITH owned AS (
         SELECT id FROM idempotency_keys WHERE id = $1 AND locked_by = $2 AND recovery_point <> 'finished' FOR UPDATE),
       moved AS (
         UPDATE payments
            SET status = $4, failure_code = $5, failure_message = $6, provider_charge_id = coalesce($7, provider_charge_id),
                next_reconcile_at = CASE WHEN $4 = 'processing' THEN now() + make_interval(secs => $8::double precision / 1000) END,
                updated_at = $9
          WHERE id = $3 AND status = 'pending' AND EXISTS (SELECT 1 FROM owned)
          RETURNING merchant_id, mode, id),
       transition AS (
         INSERT INTO payment_transitions (merchant_id, payment_id, from_status, to_status, reason)
         SELECT merchant_id, id, 'pending', $4, $10 FROM moved),
       event AS (
         INSERT INTO events (id, merchant_id, mode, payment_id, sequence, type, resource, published_at, traceparent)
         SELECT $11, merchant_id, mode, id,
                (SELECT coalesce(max(sequence), 0) + 1 FROM events e WHERE e.merchant_id = moved.merchant_id AND e.payment_id = moved.id),
                $12, $13, ${publishedAtSql('moved.merchant_id', 'moved.mode', '$12::text')}, $24
           FROM moved),
       first_attempt AS (
         UPDATE provider_attempts SET outcome = $15, http_status = $16, error = $17, latency_ms = $18, waited_ms = $19
          WHERE id = $14 AND EXISTS (SELECT 1 FROM moved)),
       more_attempts AS (
         INSERT INTO provider_attempts (merchant_id, payment_id, refund_id, provider, operation, provider_key, attempt, waited_ms, outcome, http_status, error, latency_ms)
         SELECT a.merchant_id, a.payment_id, a.refund_id, a.provider, a.operation, a.provider_key, a.attempt, a.waited_ms, a.outcome, a.http_status, a.error, a.latency_ms
           FROM jsonb_to_recordset($20::jsonb) AS a(merchant_id text, payment_id text, refund_id text, provider text, operation text, provider_key text,
                                                    attempt int, waited_ms int, outcome text, http_status int, error text, latency_ms int)
          WHERE EXISTS (SELECT 1 FROM moved)),
       finished AS (
         UPDATE idempotency_keys
            SET recovery_point = 'finished', response_status = $21, response_headers = $22, response_body = $23,
                locked_at = NULL, locked_by = NULL, finished_at = now()
          WHERE id = (SELECT id FROM owned) AND EXISTS (SELECT 1 FROM moved))
       SELECT (SELECT count(*) FROM owned)::int AS owned, (SELECT count(*) FROM moved)::int AS moved`,
      [key.id, key.owner, payment.id, outcome.status, outcome.failureCode, outcome.failureMessage, outcome.chargeId, outcome.reconcileAfterMs,
        outcome.updatedAt, outcome.reason, outcome.event.id, outcome.event.type, outcome.event.resource,
        sentAttemptId, first.outcome, first.httpStatus, first.error, first.latencyMs, first.waitedMs, JSON.stringify(rest.map(attemptColumns)),
        outcome.response.status, outcome.response.headers, outcome.response.body, activeTraceparent()],
    );
    if (rows[0].owned === 0) return 'lease-lost';
    return rows[0].moved === 1 ? 'stored' : 'not-pending';
  }
}

function attemptColumns(a: AttemptRecord) {
  return {
    merchant_id: a.merchantId, payment_id: a.paymentId, refund_id: a.refundId, provider: a.provider, operation: a.operation, provider_key: a.providerKey,
    attempt: a.attempt, waited_ms: a.waitedMs, outcome: a.outcome, http_status: a.httpStatus, error: a.error, latency_ms: a.latencyMs,
  };
}
