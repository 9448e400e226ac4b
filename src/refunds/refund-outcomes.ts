import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import { Outbox } from '../events/outbox.js';
import type { CallOutcome } from '../provider/provider-gateway.js';
import { type RefundRow, type RefundStatus, toRefundResource } from './refund.js';
import { RefundsRepository } from './refunds.repository.js';

/** How a refund takes a provider outcome, the same from the request and from the reconciler. */
@Injectable()
export class RefundOutcomes {
  constructor(
    private readonly refunds: RefundsRepository,
    private readonly outbox: Outbox,
  ) {}

  /**
   * In the caller's transaction: locks the payment (the order every refund change takes, which also
   * serialises the payment's outbox sequence), moves the refund forward if it still can, and writes
   * its event only when it moved. `processing` refunds are due for reconciliation after `reconcileAfterMs`.
   */
  async apply(m: EntityManager, refund: RefundRow, outcome: CallOutcome, reconcileAfterMs: number): Promise<{ refund: RefundRow; moved: boolean }> {
    const status: RefundStatus = outcome.kind === 'unknown' ? 'processing' : outcome.kind;
    await this.refunds.lockPayment(m, refund.payment_id);
    const { refund: updated, moved } = await this.refunds.moveTo(m, refund.id, status, {
      providerRefundId: outcome.kind === 'unknown' ? null : outcome.id,
      failureCode: outcome.kind === 'failed' ? outcome.failureCode : null,
      failureMessage: outcome.kind === 'failed' ? outcome.failureMessage : null,
      reconcileAfterMs,
    });
    if (moved) {
      const auth: AuthContext = { merchantId: updated.merchant_id, mode: updated.mode };
      await this.outbox.append(m, auth, { paymentId: updated.payment_id, refundId: updated.id, type: `refund.${updated.status}`, resource: toRefundResource(updated) });
    }
    return { refund: updated, moved };
  }
}
