import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../../auth/auth-context.js';
import { ProblemError } from '../../../errors/problem.js';
import { EventsService } from '../../../events/events.service.js';
import type { ClaimedKey } from '../../../idempotency/claimed-key.js';
import { IdempotencyService } from '../../../idempotency/idempotency.service.js';
import { jsonResponse, type StoredResponse } from '../../../idempotency/stored-response.js';
import { DeliveriesRepository, type EndpointTarget } from '../deliveries.repository.js';
import type { RedeliverEventDto } from '../dto/redeliver-event.dto.js';
import { toDeliveryResource } from '../webhook-delivery.js';

/**
 * POST /v1/events/{id}/redeliver: one phase that re-queues the deliveries and stores the answer
 * together; the worker sends them at its next pass. Nothing is sent here, so there is nothing for
 * the completer to resume.
 */
@Injectable()
export class RedeliverEventOperation {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly events: EventsService,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  run(auth: AuthContext, eventId: string, dto: RedeliverEventDto, key: ClaimedKey): Promise<StoredResponse> {
    return this.idempotency.phase(key, async (m) => {
      const event = await this.events.get(auth, eventId);
      const targets = dto.endpoint === undefined ? await this.deliveries.subscribedEndpoints(m, auth, event.type) : [await this.named(auth, dto.endpoint, event.type)];
      const rows = targets.length > 0 ? await this.deliveries.requeue(m, auth, event.id, targets.map((t) => t.id)) : [];
      const attempts = await this.deliveries.attemptsOf(auth, rows.map((r) => r.id), m);
      const body = { object: 'event_redelivery' as const, event: event.id, deliveries: rows.map((row) => toDeliveryResource(row, attempts)) };
      return this.idempotency.finish(m, key, jsonResponse(202, body));
    });
  }

  /** The endpoint the merchant named: theirs, switched on, and taking this type of event. */
  private async named(auth: AuthContext, id: string, type: string): Promise<EndpointTarget> {
    const endpoint = await this.deliveries.findEndpoint(auth, id);
    if (!endpoint) throw new ProblemError('resource-not-found', `No webhook endpoint ${id}.`);
    if (endpoint.status !== 'enabled') {
      throw new ProblemError('webhook-endpoint-disabled', `Webhook endpoint ${id} is disabled; enable it before redelivering to it.`, [
        { field: 'endpoint', message: 'is disabled' },
      ]);
    }
    if (!endpoint.enabled_events.includes(type) && !endpoint.enabled_events.includes('*')) {
      throw new ProblemError('webhook-endpoint-not-subscribed', `Webhook endpoint ${id} does not take ${type} events.`, [
        { field: 'endpoint', message: `is not subscribed to ${type}` },
      ]);
    }
    return endpoint;
  }
}
