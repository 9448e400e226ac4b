import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface AttemptRecord {
  merchantId: string;
  paymentId: string;
  refundId: string | null;
  provider: string;
  operation: string;
  providerKey: string;
  attempt: number;
  /** The backoff waited before this attempt (0 for the first). */
  waitedMs: number;
  outcome: 'succeeded' | 'failed' | 'not_found' | 'rejected' | 'transient';
  httpStatus: number | null;
  error: string | null;
  latencyMs: number;
}

@Injectable()
export class ProviderAttemptsRepository {
  constructor(private readonly db: DataSource) {}

  /** An attempt not stored by a phase of its own (lookups, refunds): written as it ends, outside any transaction. */
  async insert(a: AttemptRecord, m: EntityManager = this.db.manager): Promise<void> {
    await m.query(
      `INSERT INTO provider_attempts (merchant_id, payment_id, refund_id, provider, operation, provider_key, attempt, waited_ms, outcome, http_status, error, latency_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [a.merchantId, a.paymentId, a.refundId, a.provider, a.operation, a.providerKey, a.attempt, a.waitedMs, a.outcome, a.httpStatus, a.error, a.latencyMs],
    );
  }

  /**
   * The attempts of a charge whose first attempt was stored as `sent` (`sentId`) with its payment:
   * the first one's record replaces that row, the others are added; with none, no call was made and
   * the row goes. Without such a row, all are added. In the caller's transaction.
   */
  async store(m: EntityManager, sentId: string | undefined, attempts: AttemptRecord[]): Promise<void> {
    const [first, ...rest] = attempts;
    if (!sentId) {
      for (const attempt of attempts) await this.insert(attempt, m);
      return;
    }
    if (!first) {
      await m.query(`DELETE FROM provider_attempts WHERE id = $1 AND outcome = 'sent'`, [sentId]);
      return;
    }
    await m.query(
      `UPDATE provider_attempts SET outcome = $2, http_status = $3, error = $4, latency_ms = $5, waited_ms = $6 WHERE id = $1`,
      [sentId, first.outcome, first.httpStatus, first.error, first.latencyMs, first.waitedMs],
    );
    for (const attempt of rest) await this.insert(attempt, m);
  }

  /**
   * A lookup told how the call with this key ended: attempts still `sent` (their process died before
   * storing the answer) take that outcome.
   */
  async settleSent(merchantId: string, paymentId: string, providerKey: string, outcome: 'succeeded' | 'failed' | 'not_found'): Promise<void> {
    await this.db.query(
      `UPDATE provider_attempts SET outcome = $4 WHERE merchant_id = $1 AND payment_id = $2 AND provider_key = $3 AND outcome = 'sent'`,
      [merchantId, paymentId, providerKey, outcome],
    );
  }
}
