import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

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

  /** Written as each attempt ends, outside any phase, so even a process that dies next leaves it behind. */
  async insert(a: AttemptRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO provider_attempts (merchant_id, payment_id, refund_id, provider, operation, provider_key, attempt, waited_ms, outcome, http_status, error, latency_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [a.merchantId, a.paymentId, a.refundId, a.provider, a.operation, a.providerKey, a.attempt, a.waitedMs, a.outcome, a.httpStatus, a.error, a.latencyMs],
    );
  }
}
