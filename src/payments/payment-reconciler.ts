import { Injectable, Logger } from '@nestjs/common';
import { reconcileDelayMs } from '../common/reconcile-backoff.js';
import { AppConfig } from '../config/app-config.js';
import { ProblemError } from '../errors/problem.js';
import { Tracing } from '../observability/tracing.js';
import { type CallOutcome, ProviderGateway } from '../provider/provider-gateway.js';
import type { PaymentRow } from './payment.js';
import { type SettledOutcome, PaymentSettlement } from './payment-settlement.js';
import { PaymentsRepository } from './payments.repository.js';

/** Payments asked about at most per pass, so one pass stays bounded however many are due. */
const MAX_PER_PASS = 50;

/**
 * Settles `processing` payments by asking the provider how the charge with the payment's key
 * ended. Safe on many instances (payments are leased with SKIP LOCKED) and when run twice (the
 * state machine only moves forward). Each payment backs off on its own while the answer is unknown.
 */
@Injectable()
export class PaymentReconciler {
  private readonly logger = new Logger(PaymentReconciler.name);

  constructor(
    private readonly payments: PaymentsRepository,
    private readonly settlement: PaymentSettlement,
    private readonly gateway: ProviderGateway,
    private readonly tracing: Tracing,
    private readonly config: AppConfig,
  ) {}

  /**
   * One pass over the payments that are due, each at most once, leasing none after `until` but at
   * least one; returns how many it settled. They are leased one at a time, so each lease (two
   * provider budgets: a lookup, then perhaps a charge) covers that payment's own calls, not a wait
   * behind others.
   */
  async runOnce(until = Number.POSITIVE_INFINITY): Promise<number> {
    let settled = 0;
    const asked: string[] = [];
    while (asked.length < MAX_PER_PASS && (asked.length === 0 || Date.now() < until)) {
      const payment = await this.payments.leaseDueForReconcile(this.config.providerBudgetMs * 2, asked);
      if (!payment) break;
      asked.push(payment.id);
      // In the trace of the request that created the payment.
      if (await this.tracing.runJob('reconcile.payment', payment.traceparent, () => this.reconcile(payment))) settled++;
    }
    return settled;
  }

  /** Whether the payment was settled; else it is asked about again after its backoff. */
  private async reconcile(payment: PaymentRow): Promise<boolean> {
    const outcome = await this.ask(payment);
    if (outcome.kind === 'unknown') {
      const attempts = payment.reconcile_attempts + 1;
      await this.payments.scheduleReconcile(payment.id, attempts, reconcileDelayMs(attempts, this.config.reconcileBaseMs, this.config.reconcileMaxMs));
      return false;
    }
    await this.settle(payment, outcome);
    return true;
  }

  private async ask(payment: PaymentRow): Promise<CallOutcome> {
    const context = { mode: payment.mode, merchantId: payment.merchant_id, paymentId: payment.id, deadline: Date.now() + this.gateway.budgetMs };
    try {
      const found = await this.gateway.findCharge(payment.provider_key, context);
      if (found.kind !== 'not_found') return found;
      // Never executed: charge now with the same key, so a request still in flight cannot charge twice.
      return await this.gateway.charge(
        { providerKey: payment.provider_key, amount: Number(payment.amount), currency: payment.currency, paymentMethod: payment.payment_method, reference: payment.id },
        { ...context, deadline: Date.now() + this.gateway.budgetMs },
      );
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      return { kind: 'unknown', reason: error.code };
    }
  }

  private async settle(payment: PaymentRow, outcome: SettledOutcome): Promise<void> {
    const { moved } = await this.settlement.settle(payment.id, outcome, 'reconciled with the provider');
    if (moved) this.logger.log(`payment ${payment.id} settled as ${outcome.kind} after ${payment.reconcile_attempts + 1} reconcile attempt(s)`);
  }
}
