import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Outbox } from '../events/outbox.js';
import type { CallOutcome } from '../provider/provider-gateway.js';
import { type PaymentRow, toPaymentResource } from './payment.js';
import { PaymentsRepository } from './payments.repository.js';

/** An outcome the provider knows: the charge succeeded or failed. */
export type SettledOutcome = Exclude<CallOutcome, { kind: 'unknown' }>;

/**
 * A provider's word on a charge, applied through the payment's forward-only state machine: the one
 * path for the reconciler and the provider's webhooks alike, so whichever arrives first settles the
 * payment and the other changes nothing.
 */
@Injectable()
export class PaymentSettlement {
  constructor(
    private readonly db: DataSource,
    private readonly payments: PaymentsRepository,
    private readonly outbox: Outbox,
  ) {}

  /** In one transaction: the move with its transition (and `reason`) and its event, or nothing when the payment can no longer move there. */
  settle(paymentId: string, outcome: SettledOutcome, reason: string): Promise<{ payment: PaymentRow; moved: boolean }> {
    return this.db.transaction(async (m) => {
      const result = await this.payments.moveTo(m, paymentId, outcome.kind, reason, {
        chargeId: outcome.id,
        failureCode: outcome.kind === 'failed' ? outcome.failureCode : null,
        failureMessage: outcome.kind === 'failed' ? outcome.failureMessage : null,
      });
      if (result.moved) {
        const { payment } = result;
        await this.outbox.append(m, { merchantId: payment.merchant_id, mode: payment.mode }, { paymentId, type: `payment.${outcome.kind}`, resource: toPaymentResource(payment) });
      }
      return result;
    });
  }
}
