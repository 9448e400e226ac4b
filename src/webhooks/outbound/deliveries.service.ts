import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuthContext } from '../../auth/auth-context.js';
import { ProblemError } from '../../errors/problem.js';
import type { components } from '../../generated/v1.js';
import { DEFAULT_PAGE_LIMIT, toPage } from '../../http/page-query.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import type { ListDeliveriesQuery } from './dto/list-deliveries.query.js';
import { type DeliveryRow, toDeliveryResource } from './webhook-delivery.js';

type WebhookDeliveryList = components['schemas']['WebhookDeliveryList'];

@Injectable()
export class DeliveriesService {
  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly db: DataSource,
  ) {}

  async list(auth: AuthContext, endpointId: string, query: ListDeliveriesQuery): Promise<WebhookDeliveryList> {
    // Another merchant's endpoint, or one of the other mode, is as unknown as a missing one.
    const endpoint = await this.deliveries.findEndpoint(auth, endpointId);
    if (!endpoint) throw new ProblemError('resource-not-found', `No webhook endpoint ${endpointId}.`);
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.deliveries.listForEndpoint(auth, endpoint.id, limit, query.starting_after);
    const attempts = await this.deliveries.attemptsOf(auth, rows.slice(0, limit).map((r) => r.id));
    return toPage(rows, limit, `/v1/webhook_endpoints/${endpoint.id}/deliveries`, (row) => toDeliveryResource(row, attempts));
  }

  /**
   * An operator's redelivery of one delivery (the console): pending again, due now, with a fresh
   * retry schedule, as POST /v1/events/{id}/redeliver queues it for a merchant, but without the
   * merchant's idempotency key. Undefined when there is no such delivery.
   */
  async requeue(id: string): Promise<DeliveryRow | undefined> {
    const target = await this.deliveries.findDelivery(id);
    if (!target) return undefined;
    const auth = { merchantId: target.merchant_id, mode: target.mode };
    const [row] = await this.deliveries.requeue(this.db.manager, auth, target.event_id, [target.endpoint_id]);
    return row;
  }
}
