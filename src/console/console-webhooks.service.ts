import { Injectable } from '@nestjs/common';
import type { InboxStatus } from '../webhooks/inbound/inbox.repository.js';
import { InboxService } from '../webhooks/inbound/inbox.service.js';
import { DeliveriesService } from '../webhooks/outbound/deliveries.service.js';
import type { DeliveryRow } from '../webhooks/outbound/webhook-delivery.js';
import { type Backlog, ConsoleWebhooksRepository, type InboxRecord, type OutboxRecord, type QueuedDelivery } from './console-webhooks.repository.js';

export const INBOX_PAGE_SIZE = 50;
/** The outbox and the dead letters show the oldest (or latest) this many, with the total beside. */
export const QUEUE_LIST_LIMIT = 100;

export interface InboxPage {
  rows: InboxRecord[];
  older: string | undefined;
  open: { received: number; dead: number };
}

export interface OutboxView {
  events: OutboxRecord[];
  eventsBacklog: Backlog;
  deliveries: QueuedDelivery[];
  deliveriesBacklog: Backlog;
}

export interface DeadLettersView {
  deliveries: QueuedDelivery[];
  count: number;
}

/** What the console shows of webhooks both ways, and its two actions, through the webhook modules' services. */
@Injectable()
export class ConsoleWebhooksService {
  constructor(
    private readonly webhooks: ConsoleWebhooksRepository,
    private readonly inbox: InboxService,
    private readonly deliveries: DeliveriesService,
  ) {}

  async inboxPage(status: InboxStatus | undefined, before: string | undefined): Promise<InboxPage> {
    const [rows, open] = await Promise.all([this.webhooks.inbox(status, before, INBOX_PAGE_SIZE), this.webhooks.inboxOpen()]);
    const page = rows.slice(0, INBOX_PAGE_SIZE);
    return { rows: page, older: rows.length > INBOX_PAGE_SIZE ? page.at(-1)?.id : undefined, open };
  }

  async outbox(): Promise<OutboxView> {
    const [events, eventsBacklog, deliveries, deliveriesBacklog] = await Promise.all([
      this.webhooks.unpublished(QUEUE_LIST_LIMIT),
      this.webhooks.unpublishedBacklog(),
      this.webhooks.pendingDeliveries(QUEUE_LIST_LIMIT),
      this.webhooks.pendingBacklog(),
    ]);
    return { events, eventsBacklog, deliveries, deliveriesBacklog };
  }

  async deadLetters(): Promise<DeadLettersView> {
    const [deliveries, count] = await Promise.all([this.webhooks.deadDeliveries(QUEUE_LIST_LIMIT), this.webhooks.deadCount()]);
    return { deliveries, count };
  }

  redrive(inboxId: string): Promise<boolean> {
    return this.inbox.redrive(inboxId);
  }

  redeliver(deliveryId: string): Promise<DeliveryRow | undefined> {
    return this.deliveries.requeue(deliveryId);
  }
}
