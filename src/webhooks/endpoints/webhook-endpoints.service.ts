import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context.js';
import { ProblemError } from '../../errors/problem.js';
import type { components } from '../../generated/v1.js';
import { DEFAULT_PAGE_LIMIT, toPage } from '../../http/page-query.js';
import type { ListWebhookEndpointsQuery } from './dto/list-webhook-endpoints.query.js';
import { toWebhookEndpointResource, type WebhookEndpointResource } from './webhook-endpoint.js';
import { WebhookEndpointsRepository } from './webhook-endpoints.repository.js';

type WebhookEndpointList = components['schemas']['WebhookEndpointList'];
type WebhookEndpointDeleted = components['schemas']['WebhookEndpointDeleted'];

/** Reads and the delete. The other writes are the idempotent operations in operations/. */
@Injectable()
export class WebhookEndpointsService {
  constructor(private readonly endpoints: WebhookEndpointsRepository) {}

  async get(auth: AuthContext, id: string): Promise<WebhookEndpointResource> {
    const endpoint = await this.endpoints.findById(auth, id);
    // Another merchant's endpoint, or one of the other mode, is as unknown as a missing one.
    if (!endpoint) throw new ProblemError('resource-not-found', `No webhook endpoint ${id}.`);
    return toWebhookEndpointResource(endpoint);
  }

  async list(auth: AuthContext, query: ListWebhookEndpointsQuery): Promise<WebhookEndpointList> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.endpoints.list(auth, limit, query.starting_after);
    return toPage(rows, limit, '/v1/webhook_endpoints', toWebhookEndpointResource);
  }

  /** Needs no Idempotency-Key: deleting twice leaves what deleting once left (the second answer is a 404). */
  async delete(auth: AuthContext, id: string): Promise<WebhookEndpointDeleted> {
    if (!(await this.endpoints.delete(auth, id))) throw new ProblemError('resource-not-found', `No webhook endpoint ${id}.`);
    return { id, object: 'webhook_endpoint', deleted: true };
  }
}
