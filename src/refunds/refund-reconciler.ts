import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { reconcileDelayMs } from '../common/reconcile-backoff.js';
import { AppConfig } from '../config/app-config.js';
import { ProblemError } from '../errors/problem.js';
import { Tracing } from '../observability/tracing.js';
import { type CallContext, type CallOutcome, ProviderGateway } from '../provider/provider-gateway.js';
import { RefundOutcomes } from './refund-outcomes.js';
import { type DueRefund, RefundsRepository } from './refunds.repository.js';

/** Refunds settled at most per pass, so one pass stays bounded however many are due. */
const MAX_PER_PASS = 100;

/**
 * Settles `processing` refunds by asking the provider under the refund's own key. Run by the
 * reconciler job; safe on any number of instances, as each refund is leased before it is asked about.
 */
@Injectable()
export class RefundReconciler {
  private readonly logger = new Logger(RefundReconciler.name);

  constructor(
    private readonly db: DataSource,
    private readonly refunds: RefundsRepository,
    private readonly outcomes: RefundOutcomes,
    private readonly gateway: ProviderGateway,
    private readonly tracing: Tracing,
    private readonly config: AppConfig,
  ) {}

  /**
   * One pass over the refunds that are due, leasing none after `until` but at least one (so a pass
   * of payments that used the whole window cannot starve them); returns how many it settled
   * (succeeded or failed).
   */
  async runOnce(until = Number.POSITIVE_INFINITY): Promise<number> {
    let settled = 0;
    // The lease outlives the two calls a refund may need, both inside one provider budget.
    const leaseMs = this.gateway.budgetMs + this.config.reconcileBaseMs;
    for (let i = 0; i < MAX_PER_PASS && (i === 0 || Date.now() < until); i++) {
      const refund = await this.refunds.leaseDue(leaseMs);
      if (!refund) break;
      // In the trace of the request that created the refund.
      if (await this.tracing.runJob('reconcile.refund', refund.traceparent, () => this.tryReconcile(refund))) settled++;
    }
    return settled;
  }

  private async tryReconcile(refund: DueRefund): Promise<boolean> {
    try {
      return await this.reconcile(refund);
    } catch (error) {
      // Left leased: it is due again when the lease ends.
      this.logger.warn(`refund ${refund.id} not reconciled: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  private async reconcile(refund: DueRefund): Promise<boolean> {
    const context: CallContext = {
      mode: refund.mode,
      merchantId: refund.merchant_id,
      paymentId: refund.payment_id,
      refundId: refund.id,
      deadline: Date.now() + this.gateway.budgetMs,
    };
    const outcome = await this.ask(refund, context);
    if (outcome.kind === 'unknown') {
      const attempts = refund.reconcile_attempts + 1;
      await this.refunds.scheduleReconcile(refund.id, attempts, reconcileDelayMs(attempts, this.config.reconcileBaseMs, this.config.reconcileMaxMs));
      return false;
    }
    const { moved } = await this.db.transaction((m) => this.outcomes.apply(m, refund, outcome, 0));
    return moved;
  }

  /** What became of the refund; one the provider never executed is sent again under the same key. */
  private async ask(refund: DueRefund, context: CallContext): Promise<CallOutcome> {
    try {
      const found = await this.gateway.findRefund(refund.provider_key, context);
      if (found.kind !== 'not_found') return found;
      return await this.gateway.refund(
        { providerKey: refund.provider_key, chargeId: refund.provider_charge_id, amount: Number(refund.amount), currency: refund.currency, reference: refund.id },
        context,
      );
    } catch (error) {
      // The gateway refused before reaching the provider (switched off, breaker open, overloaded): ask again later.
      if (error instanceof ProblemError) return { kind: 'unknown', reason: error.code };
      throw error;
    }
  }
}
