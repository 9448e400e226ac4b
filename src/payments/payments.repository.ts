import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import { isIdOf } from '../common/ids.js';
import type { PaymentRow, PaymentStatus } from './payment.js';
import { canMove } from './payment-state.js';

@Injectable()
export class PaymentsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Removes a payment the provider never charged, and the events an update of it appended (nothing
   * may be announced of it), in the caller's transaction. Only a `pending` payment can go: anything
   * later was acknowledged to someone. Its provider_attempts stay: they record calls that were made.
   */
  async deleteUncharged(m: EntityManager, paymentId: string): Promise<void> {
    await m.query(`DELETE FROM events WHERE payment_id = $1`, [paymentId]);
    const deleted: unknown[] = await m.query(
      `WITH deleted AS (DELETE FROM payments WHERE id = $1 AND status = 'pending' RETURNING id) SELECT id FROM deleted`,
      [paymentId],
    );
    if (deleted.length !== 1) throw new Error(`payment ${paymentId} is no longer pending and cannot be removed`);
  }

  async findById(auth: AuthContext, id: string, m: EntityManager = this.db.manager, lock = false): Promise<PaymentRow | undefined> {
    // Any string can arrive from a URL, NUL bytes included, which Postgres refuses as a parameter.
    if (!isIdOf('pay', id)) return undefined;
    const rows: PaymentRow[] = await m.query(
      `SELECT * FROM payments WHERE merchant_id = $1 AND mode = $2 AND id = $3 ${lock ? 'FOR UPDATE' : ''}`,
      [auth.merchantId, auth.mode, id],
    );
    return rows[0];
  }

  /** Newest first; `limit + 1` rows are read to tell whether there is a next page. */
  list(auth: AuthContext, limit: number, startingAfter: string | undefined): Promise<PaymentRow[]> {
    return this.db.query(
      `SELECT * FROM payments
        WHERE merchant_id = $1 AND mode = $2 AND ($3::text IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [auth.merchantId, auth.mode, startingAfter ?? null, limit + 1],
    );
  }

  /**
   * Moves the payment to `to` if the state machine allows it from where it is, recording the
   * transition and its reason; otherwise leaves it as it is. Either way returns the row as it now is.
   * A `processing` payment is due for reconciliation after `reconcileAfterMs`.
   */
  async moveTo(
    m: EntityManager,
    paymentId: string,
    to: PaymentStatus,
    reason: string,
    fields: { failureCode?: string | null; failureMessage?: string | null; chargeId?: string | null; reconcileAfterMs?: number },
  ): Promise<{ payment: PaymentRow; moved: boolean }> {
    const current: PaymentRow[] = await m.query(`SELECT * FROM payments WHERE id = $1 FOR UPDATE`, [paymentId]);
    if (!canMove(current[0].status, to)) return { payment: current[0], moved: false };
    const rows: PaymentRow[] = await m.query(
      `WITH moved AS (
         UPDATE payments
            SET status = $2, failure_code = $3, failure_message = $4, provider_charge_id = coalesce($5, provider_charge_id),
                next_reconcile_at = CASE WHEN $2 = 'processing' THEN now() + make_interval(secs => $6::double precision / 1000) END,
                updated_at = now()
          WHERE id = $1 RETURNING *)
       SELECT * FROM moved`,
      [paymentId, to, fields.failureCode ?? null, fields.failureMessage ?? null, fields.chargeId ?? null, fields.reconcileAfterMs ?? 0],
    );
    await m.query(
      `INSERT INTO payment_transitions (merchant_id, payment_id, from_status, to_status, reason) VALUES ($1, $2, $3, $4, $5)`,
      [current[0].merchant_id, paymentId, current[0].status, to, reason],
    );
    return { payment: rows[0], moved: true };
  }

  /**
   * Leases the processing payment that has been due longest, by pushing its next time out by the
   * lease; SKIP LOCKED lets reconcilers on many instances share them without taking one twice.
   * `skip`: the ones this pass already asked about, which a short backoff may have made due again.
   */
  async leaseDueForReconcile(leaseMs: number, skip: string[]): Promise<PaymentRow | undefined> {
    const rows: PaymentRow[] = await this.db.query(
      `WITH leased AS (
         UPDATE payments SET next_reconcile_at = now() + make_interval(secs => $1::double precision / 1000)
          WHERE id IN (SELECT id FROM payments WHERE status = 'processing' AND next_reconcile_at <= now() AND id <> ALL($2::text[])
                        ORDER BY next_reconcile_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING *)
       SELECT * FROM leased`,
      [leaseMs, skip],
    );
    return rows[0];
  }

  async scheduleReconcile(paymentId: string, attempts: number, afterMs: number): Promise<void> {
    await this.db.query(
      `UPDATE payments SET reconcile_attempts = $2, next_reconcile_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND status = 'processing'`,
      [paymentId, attempts, afterMs],
    );
  }

  async updateDetails(m: EntityManager, paymentId: string, description: string | null, metadata: Record<string, string>): Promise<PaymentRow> {
    const rows: PaymentRow[] = await m.query(
      `WITH updated AS (
         UPDATE payments SET description = $2, metadata = $3, updated_at = now() WHERE id = $1 RETURNING *)
       SELECT * FROM updated`,
      [paymentId, description, metadata],
    );
    return rows[0];
  }
}
