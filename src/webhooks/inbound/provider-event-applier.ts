import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Mode } from '../../auth/auth-context.js';
import { chargeKeyOf } from '../../payments/payment.js';
import { PaymentSettlement, type SettledOutcome } from '../../payments/payment-settlement.js';
import { refundKeyOf } from '../../refunds/refund.js';
import { RefundOutcomes } from '../../refunds/refund-outcomes.js';
import { EventTargetsRepository } from './event-targets.repository.js';
import type { InboxRow } from './inbox.repository.js';
import type { ProviderEvent, ProviderObject } from './provider-event.js';

export interface Applied {
  status: 'applied' | 'ignored';
  /** What changed, "no change", or why the event was ignored. */
  outcome: string;
}

/**
 * Applies a stored provider event through the same forward-only paths the reconcilers use
 * (PaymentSettlement, RefundOutcomes), so whichever of the answer, the webhook and the reconciler
 * comes first settles the payment or refund and the others change nothing. Throws on a failure worth
 * retrying; an event that names nothing of ours, or something of the other mode, is ignored.
 */
@Injectable()
export class ProviderEventApplier {
  constructor(
    private readonly db: DataSource,
    private readonly targets: EventTargetsRepository,
    private readonly settlement: PaymentSettlement,
    private readonly refunds: RefundOutcomes,
  ) {}

  apply(row: InboxRow): Promise<Applied> {
    const event = JSON.parse(row.payload) as ProviderEvent;
    const object = event.data.object;
    const mode = this.modeOf(row.provider);
    const [resource, kind] = event.type.split('.') as ['charge' | 'refund', SettledOutcome['kind']];
    const outcome = outcomeOf(object, kind);
    const reason = `provider webhook ${event.type} ${event.id}`;
    return resource === 'charge' ? this.applyToPayment(mode, object, outcome, reason) : this.applyToRefund(mode, object, outcome);
  }

  private async applyToPayment(mode: Mode, object: ProviderObject, outcome: SettledOutcome | undefined, reason: string): Promise<Applied> {
    const paymentId = ourIdIn(object.idempotency_key, ':charge');
    if (!paymentId) return ignored(`idempotency_key ${describe(object.idempotency_key)} names no payment of ours`);
    const payment = await this.targets.findPayment(paymentId);
    if (!payment) return ignored(`no payment ${describe(paymentId)}`);
    if (payment.mode !== mode) return ignored(`payment ${paymentId} is in ${payment.mode} mode, the provider's events are ${mode}`);
    if (payment.provider_key !== chargeKeyOf(paymentId)) return ignored(`payment ${paymentId} was charged under another key`);
    if (!outcome) return ignored(`data.object has no charge outcome of its type (status ${describe(object.status)}, id ${describe(object.id)})`);
    const { payment: now, moved } = await this.settlement.settle(paymentId, outcome, reason);
    return { status: 'applied', outcome: moved ? `payment ${paymentId} moved to ${now.status}` : `no change: payment ${paymentId} is ${now.status}` };
  }

  private applyToRefund(mode: Mode, object: ProviderObject, outcome: SettledOutcome | undefined): Promise<Applied> {
    const refundId = ourIdIn(object.idempotency_key, ':refund');
    if (!refundId) return Promise.resolve(ignored(`idempotency_key ${describe(object.idempotency_key)} names no refund of ours`));
    return this.db.transaction(async (m) => {
      const refund = await this.targets.findRefund(m, refundId);
      if (!refund) return ignored(`no refund ${describe(refundId)}`);
      if (refund.mode !== mode) return ignored(`refund ${refundId} is in ${refund.mode} mode, the provider's events are ${mode}`);
      if (refund.provider_key !== refundKeyOf(refundId)) return ignored(`refund ${refundId} was sent under another key`);
      if (!outcome) return ignored(`data.object has no refund outcome of its type (status ${describe(object.status)}, id ${describe(object.id)})`);
      const { refund: now, moved } = await this.refunds.apply(m, refund, outcome, 0);
      return { status: 'applied' as const, outcome: moved ? `refund ${refundId} moved to ${now.status}` : `no change: refund ${refundId} is ${now.status}` };
    });
  }

  /** The mode a provider's events are about: by its name, whether or not it still has a secret. */
  private modeOf(provider: string): Mode {
    return provider === 'sandbox' ? 'test' : 'live';
  }
}

function ignored(outcome: string): Applied {
  return { status: 'ignored', outcome };
}

/** Our payment or refund id in the provider's idempotency key (`<id><suffix>`), if it is one. */
function ourIdIn(key: unknown, suffix: ':charge' | ':refund'): string | undefined {
  if (typeof key !== 'string' || !key.endsWith(suffix)) return undefined;
  return key.slice(0, -suffix.length);
}

/** The outcome `data.object` reports, when it is the one the event's type names; else undefined. */
function outcomeOf(object: ProviderObject, kind: SettledOutcome['kind']): SettledOutcome | undefined {
  const id = storable(object.id);
  if (!id || object.status !== kind) return undefined;
  if (kind === 'succeeded') return { kind, id };
  return {
    kind,
    id,
    failureCode: storable(object.failure_code) ?? 'provider_failure',
    failureMessage: storable(object.failure_message) ?? 'The provider reported a failure without a message.',
  };
}

/** A non-empty string Postgres can store as text (no U+0000, no lone surrogate), up to 500 characters. */
function storable(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= 500 && !value.includes('\u0000') && value.isWellFormed() ? value : undefined;
}

function describe(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 100) ?? 'undefined';
}
