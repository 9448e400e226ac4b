import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import type { ChargeResult } from '../provider/payment-provider.js';
import type { PaymentRow, PaymentStatus } from './payment.js';

export interface NewPayment {
  id: string;
  operationId: string;
  requestFingerprint: string;
  amount: number;
  currency: string;
  paymentMethod: string;
  description: string | null;
  metadata: Record<string, string>;
  providerKey: string;
}

@Injectable()
export class PaymentsRepository {
  constructor(private readonly db: DataSource) {}

  /** Inserts a pending payment; undefined when one already holds this operation_id. */
  async insert(m: EntityManager, auth: AuthContext, p: NewPayment): Promise<PaymentRow | undefined> {
    const rows: PaymentRow[] = await m.query(
      `INSERT INTO payments (id, merchant_id, mode, operation_id, request_fingerprint, amount, currency,
                             payment_method, description, metadata, status, provider_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)
       ON CONFLICT ON CONSTRAINT uq_payments_merchant_mode_operation DO NOTHING
       RETURNING *`,
      [p.id, auth.merchantId, auth.mode, p.operationId, p.requestFingerprint, p.amount, p.currency, p.paymentMethod,
        p.description, p.metadata, p.providerKey],
    );
    return rows[0];
  }

  async findByOperationId(m: EntityManager, auth: AuthContext, operationId: string): Promise<PaymentRow | undefined> {
    const rows: PaymentRow[] = await m.query(
      `SELECT * FROM payments WHERE merchant_id = $1 AND mode = $2 AND operation_id = $3`,
      [auth.merchantId, auth.mode, operationId],
    );
    return rows[0];
  }

  async findById(auth: AuthContext, id: string, m: EntityManager = this.db.manager, lock = false): Promise<PaymentRow | undefined> {
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
   * Moves the payment forward only: pending → processing → succeeded | failed. A late or repeated
   * outcome finds the row already past it and changes nothing.
   */
  async applyOutcome(
    m: EntityManager,
    paymentId: string,
    status: PaymentStatus,
    fields: { failureCode?: string | null; failureMessage?: string | null; chargeId?: string | null },
  ): Promise<PaymentRow> {
    const rows: PaymentRow[] = await m.query(
      `WITH moved AS (
         UPDATE payments
            SET status = $2, failure_code = $3, failure_message = $4,
                provider_charge_id = coalesce($5, provider_charge_id), updated_at = now()
          WHERE id = $1 AND (status = 'pending' OR (status = 'processing' AND $2 IN ('succeeded', 'failed')))
          RETURNING *)
       SELECT * FROM moved UNION ALL SELECT * FROM payments WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM moved)`,
      [paymentId, status, fields.failureCode ?? null, fields.failureMessage ?? null, fields.chargeId ?? null],
    );
    return rows[0];
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

  async recordAttempt(
    m: EntityManager,
    attempt: { merchantId: string; paymentId: string; provider: string; operation: string; providerKey: string; result: ChargeResult },
  ): Promise<void> {
    const { outcome } = attempt.result;
    await m.query(
      `INSERT INTO provider_attempts (merchant_id, payment_id, provider, operation, provider_key, outcome, http_status, error, latency_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [attempt.merchantId, attempt.paymentId, attempt.provider, attempt.operation, attempt.providerKey, outcome.kind,
        attempt.result.httpStatus, outcome.kind === 'unknown' ? outcome.reason : null, attempt.result.latencyMs],
    );
  }
}
