import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context.js';
import { ProblemError } from '../../errors/problem.js';
import type { components } from '../../generated/v1.js';
import { DEFAULT_PAGE_LIMIT, toPage } from '../../http/page-query.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import type { ListDeliveriesQuery } from './dto/list-deliveries.query.js';
import { toDeliveryResource } from './webhook-delivery.js';

type WebhookDeliveryList = components['schemas']['WebhookDeliveryList'];

@Injectable()
export class DeliveriesService {
  constructor(private readonly deliveries: DeliveriesRepository) {}

  async list(auth: AuthContext, endpointId: string, query: ListDeliveriesQuery): Promise<WebhookDeliveryList> {
    // Another merchant's endpoint, or one of the other mode, is as unknown as a missing one.
    const endpoint = await this.deliveries.findEndpoint(auth, endpointId);
    if (!endpoint) throw new ProblemError('resource-not-found', `No webhook endpoint ${endpointId}.`);
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.deliveries.listForEndpoint(auth, endpoint.id, limit, query.starting_after);
    const attempts = await this.deliveries.attemptsOf(auth, rows.slice(0, limit).map((r) => r.id));
    return toPage(rows, limit, `/v1/webhook_endpoints/${endpoint.id}/deliveries`, (row) => toDeliveryResource(row, attempts));
  }
}
