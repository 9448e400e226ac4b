import { Injectable } from '@nestjs/common';
import {
  ConsolePaymentsRepository,
  type DeliveryRecord,
  type EventRecord,
  type KeyRecord,
  type PaymentDetail,
  type PaymentFilter,
  type PaymentSummary,
  type ProviderAttemptRecord,
  type RefundRecord,
  type TransitionRecord,
} from './console-payments.repository.js';
import type { AttemptRow } from '../webhooks/outbound/webhook-delivery.js';

export const PAYMENTS_PAGE_SIZE = 50;

export interface PaymentsPage {
  rows: PaymentSummary[];
  /** The id to page on from, when older payments match. */
  older: string | undefined;
}

/** One thing that happened to a payment, at the time it was recorded (`us`: the same, to the microsecond). */
export type TimelineEntry = { at: Date; us: bigint } & (
  | { kind: 'key-claimed'; key: KeyRecord }
  | { kind: 'payment-created'; payment: PaymentDetail }
  | { kind: 'refund-created'; refund: RefundRecord }
  | { kind: 'provider-attempt'; attempt: ProviderAttemptRecord }
  | { kind: 'transition'; transition: TransitionRecord }
  | { kind: 'event'; event: EventRecord }
  | { kind: 'key-unfinished'; key: KeyRecord }
  | { kind: 'key-finished'; key: KeyRecord }
  | { kind: 'delivery'; delivery: DeliveryRecord; attempts: AttemptRow[] }
);

/**
 * Things recorded in one transaction share its timestamp; they are told apart in the order the
 * phases write them: the claim, the row it created, the calls, the state change, its event, the
 * stored answer, and the deliveries fanned out from the event afterwards.
 */
const RANK: Record<TimelineEntry['kind'], number> = {
  'key-claimed': 0,
  'payment-created': 1,
  'refund-created': 1,
  'provider-attempt': 2,
  transition: 3,
  event: 4,
  'key-unfinished': 5,
  'key-finished': 5,
  delivery: 6,
};

export interface PaymentTimeline {
  payment: PaymentDetail;
  refunds: RefundRecord[];
  /** Whether the payment's own idempotency key is still stored (it is swept after its TTL). */
  keyStored: boolean;
  entries: TimelineEntry[];
}

@Injectable()
export class ConsolePaymentsService {
  constructor(private readonly payments: ConsolePaymentsRepository) {}

  async list(filter: PaymentFilter): Promise<PaymentsPage> {
    const rows = await this.payments.list(filter, PAYMENTS_PAGE_SIZE);
    const page = rows.slice(0, PAYMENTS_PAGE_SIZE);
    return { rows: page, older: rows.length > PAYMENTS_PAGE_SIZE ? page.at(-1)?.id : undefined };
  }

  /** Everything recorded about the payment, in the order it happened; undefined when there is no such payment. */
  async timeline(id: string): Promise<PaymentTimeline | undefined> {
    const payment = await this.payments.find(id);
    if (!payment) return undefined;
    const [refunds, attempts, transitions, events] = await Promise.all([
      this.payments.refunds(payment),
      this.payments.attempts(payment),
      this.payments.transitions(payment),
      this.payments.events(payment),
    ]);
    const [keys, deliveries] = await Promise.all([
      this.payments.keys(payment, [payment.operation_id, ...refunds.map((r) => r.operation_id)]),
      this.payments.deliveries(payment, events.map((e) => e.id)),
    ]);
    const deliveryAttempts = await this.payments.deliveryAttempts(payment, deliveries.map((d) => d.id));

    const entries: TimelineEntry[] = [{ kind: 'payment-created', at: payment.created_at, us: BigInt(payment.created_us), payment }];
    for (const key of keys) {
      entries.push({ kind: 'key-claimed', at: key.created_at, us: BigInt(key.created_us), key });
      if (key.finished_at && key.finished_us) entries.push({ kind: 'key-finished', at: key.finished_at, us: BigInt(key.finished_us), key });
      else entries.push({ kind: 'key-unfinished', at: key.locked_at ?? key.created_at, us: BigInt(key.locked_us ?? key.created_us), key });
    }
    for (const refund of refunds) entries.push({ kind: 'refund-created', at: refund.created_at, us: BigInt(refund.created_us), refund });
    for (const attempt of attempts) entries.push({ kind: 'provider-attempt', at: attempt.created_at, us: BigInt(attempt.created_us), attempt });
    for (const transition of transitions) entries.push({ kind: 'transition', at: transition.created_at, us: BigInt(transition.created_us), transition });
    for (const event of events) entries.push({ kind: 'event', at: event.created_at, us: BigInt(event.created_us), event });
    for (const delivery of deliveries) {
      const made = deliveryAttempts.filter((a) => a.delivery_id === delivery.id);
      entries.push({ kind: 'delivery', at: delivery.created_at, us: BigInt(delivery.created_us), delivery, attempts: made });
    }
    // A stable sort: entries of one kind and time keep the order they were read in (by id or sequence).
    entries.sort((a, b) => (a.us < b.us ? -1 : a.us > b.us ? 1 : RANK[a.kind] - RANK[b.kind]));
    return { payment, refunds, keyStored: keys.some((k) => k.key === payment.operation_id), entries };
  }
}
