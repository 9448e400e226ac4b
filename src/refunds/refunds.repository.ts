import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import { isIdOf } from '../common/ids.js';
import { activeTraceparent } from '../observability/trace-context.js';
import type { PaymentStatus } from '../payments/payment.js';
import type { RefundReason, RefundRow, RefundStatus } from './refund.js';

/** What a refund needs of its payment. */
export interface RefundablePayment {
  id: string;
  amount: string;
  amount_refunded: string;
  currency: string;
  status: PaymentStatus;
  provider_charge_id: string | null;
}

export interface NewRefund {
  id: string;
  paymentId: string;
  operationId: string;
  requestFingerprint: string;
  amount: number;
  currency: string;
  reason: RefundReason | null;
  metadata: Record<string, string>;
  providerKey: string;
}

/** A refund due for reconciliation, with the charge it refunds. */
export type DueRefund = RefundRow & { provider_charge_id: string };

/**
 * The SQL of refunds, including their share of `payments.amount_refunded`. Lock order is always the
 * payment's row, then the refund's, so refunds of one payment never deadlock each other.
 */
@Injectable()
export class RefundsRepository {
  constructor(private readonly db: DataSource) {}

  async findPayment(auth: AuthContext, paymentId: string, m: EntityManager = this.db.manager, lock = false): Promise<RefundablePayment | undefined> {
    // Any string can arrive from a URL, NUL bytes included, which Postgres refuses as a parameter.
    if (!isIdOf('pay', paymentId)) return undefined;
    const rows: RefundablePayment[] = await m.query(
      `SELECT id, amount, amount_refunded, currency, status, provider_charge_id
         FROM payments WHERE merchant_id = $1 AND mode = $2 AND id = $3 ${lock ? 'FOR UPDATE' : ''}`,
      [auth.merchantId, auth.mode, paymentId],
    );
    return rows[0];
  }

  /** Serialises every change to a payment's refunds (and its outbox sequence) behind its row lock. */
  async lockPayment(m: EntityManager, paymentId: string): Promise<void> {
    await m.query(`SELECT 1 FROM payments WHERE id = $1 FOR UPDATE`, [paymentId]);
  }

  /**
   * Inserts a pending refund and reserves its amount on the payment, in the caller's transaction and
   * under the payment's row lock. ck_payments_amount_refunded refuses an over-refund even if a caller
   * forgot to check.
   */
  async insertReserving(m: EntityManager, auth: AuthContext, r: NewRefund): Promise<RefundRow> {
    await m.query(`UPDATE payments SET amount_refunded = amount_refunded + $2, updated_at = now() WHERE id = $1`, [r.paymentId, r.amount]);
    const rows: RefundRow[] = await m.query(
      `INSERT INTO refunds (id, merchant_id, mode, payment_id, operation_id, request_fingerprint, amount, currency,
                            reason, metadata, status, provider_key, traceparent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12)
       RETURNING *`,
      [r.id, auth.merchantId, auth.mode, r.paymentId, r.operationId, r.requestFingerprint, r.amount, r.currency, r.reason,
        r.metadata, r.providerKey, activeTraceparent()],
    );
    return rows[0];
  }

  /**
   * Removes a refund the provider never executed and gives its reservation back to the payment, in
   * the caller's transaction and under the payment's row lock. Only a `pending` refund can go. Its
   * provider_attempts stay: they record calls that were made.
   */
  async deleteUnsent(m: EntityManager, refund: RefundRow): Promise<void> {
    await this.lockPayment(m, refund.payment_id);
    const deleted: { amount: string }[] = await m.query(
      `WITH deleted AS (DELETE FROM refunds WHERE id = $1 AND status = 'pending' RETURNING amount) SELECT amount FROM deleted`,
      [refund.id],
    );
    if (deleted.length !== 1) throw new Error(`refund ${refund.id} is no longer pending and cannot be removed`);
    await m.query(`UPDATE payments SET amount_refunded = amount_refunded - $2, updated_at = now() WHERE id = $1`, [refund.payment_id, deleted[0].amount]);
  }

  async findByOperationId(m: EntityManager, auth: AuthContext, operationId: string): Promise<RefundRow | undefined> {
    const rows: RefundRow[] = await m.query(
      `SELECT * FROM refunds WHERE merchant_id = $1 AND mode = $2 AND operation_id = $3`,
      [auth.merchantId, auth.mode, operationId],
    );
    return rows[0];
  }

  async findById(auth: AuthContext, paymentId: string, refundId: string): Promise<RefundRow | undefined> {
    if (!isIdOf('pay', paymentId) || !isIdOf('re', refundId)) return undefined;
    const rows: RefundRow[] = await this.db.query(
      `SELECT * FROM refunds WHERE merchant_id = $1 AND mode = $2 AND payment_id = $3 AND id = $4`,
      [auth.merchantId, auth.mode, paymentId, refundId],
    );
    return rows[0];
  }

  /** Newest first; `limit + 1` rows are read to tell whether there is a next page. */
  list(auth: AuthContext, paymentId: string, limit: number, startingAfter: string | undefined): Promise<RefundRow[]> {
    return this.db.query(
      `SELECT * FROM refunds
        WHERE merchant_id = $1 AND payment_id = $2 AND mode = $3 AND ($4::text IS NULL OR id < $4)
        ORDER BY id DESC LIMIT $5`,
      [auth.merchantId, paymentId, auth.mode, startingAfter ?? null, limit + 1],
    );
  }

  /**
   * Moves the refund forward only: pending → processing → succeeded | failed; a late or repeated
   * outcome changes nothing. A refund that moves to failed gives its amount back to the payment in
   * the same statement, so it is given back exactly once. A refund that becomes processing is due
   * for reconciliation after `reconcileAfterMs`. The caller holds the payment's row lock.
   */
  async moveTo(
    m: EntityManager,
    refundId: string,
    to: RefundStatus,
    fields: { providerRefundId: string | null; failureCode: string | null; failureMessage: string | null; reconcileAfterMs: number },
  ): Promise<{ refund: RefundRow; moved: boolean }> {
    const rows: (RefundRow & { moved: boolean })[] = await m.query(
      `WITH moved AS (
         UPDATE refunds
            SET status = $2, failure_code = $3, failure_message = $4, provider_refund_id = coalesce($5, provider_refund_id),
                next_reconcile_at = CASE WHEN $2 = 'processing' THEN now() + make_interval(secs => $6::double precision / 1000) END,
                updated_at = now()
          WHERE id = $1 AND (status = 'pending' OR (status = 'processing' AND $2 IN ('succeeded', 'failed')))
          RETURNING *),
       given_back AS (
         UPDATE payments p SET amount_refunded = p.amount_refunded - moved.amount, updated_at = now()
           FROM moved WHERE p.id = moved.payment_id AND moved.status = 'failed')
       SELECT *, true AS moved FROM moved
       UNION ALL
       SELECT *, false AS moved FROM refunds WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM moved)`,
      [refundId, to, fields.failureCode, fields.failureMessage, fields.providerRefundId, fields.reconcileAfterMs],
    );
    const { moved, ...refund } = rows[0];
    return { refund, moved };
  }

  /**
   * Leases one processing refund that is due, by pushing its next time out by the lease; SKIP LOCKED
   * lets reconcilers on many instances share the work without taking one refund twice.
   */
  async leaseDue(leaseMs: number): Promise<DueRefund | undefined> {
    const rows: DueRefund[] = await this.db.query(
      `WITH leased AS (
         UPDATE refunds SET next_reconcile_at = now() + make_interval(secs => $1::double precision / 1000)
          WHERE id = (SELECT id FROM refunds WHERE status = 'processing' AND next_reconcile_at <= now()
                       ORDER BY next_reconcile_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING *)
       SELECT leased.*, p.provider_charge_id FROM leased JOIN payments p ON p.id = leased.payment_id`,
      [leaseMs],
    );
    return rows[0];
  }

  async scheduleReconcile(refundId: string, attempts: number, afterMs: number): Promise<void> {
    await this.db.query(
      `UPDATE refunds SET reconcile_attempts = $2, next_reconcile_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND status = 'processing'`,
      [refundId, attempts, afterMs],
    );
  }
}
