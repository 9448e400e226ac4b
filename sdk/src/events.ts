import type { Transport } from './transport.js';
import type { Event, EventList, EventListParams, EventRedeliverRequest, EventRedelivery, IdempotentRequestOptions, WithLastResponse } from './types.js';

export class Events {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  retrieve(id: string): Promise<WithLastResponse<Event>> {
    return this.transport.send({ method: 'GET', path: `/v1/events/${id}`, idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/events/{id}', { params: { path: { id } }, signal }),
    );
  }

  /** Newest first; filter by `type` and `payment`; pass the last id of a page as `starting_after` for the next one. */
  list(params: EventListParams = {}): Promise<WithLastResponse<EventList>> {
    return this.transport.send({ method: 'GET', path: '/v1/events', idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/events', { params: { query: params }, signal }),
    );
  }

  /** Queues the event again for its endpoints (`{}`), or for the one named in `endpoint`. */
  redeliver(id: string, params: EventRedeliverRequest = {}, options: IdempotentRequestOptions = {}): Promise<WithLastResponse<EventRedelivery>> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.transport.send({ method: 'POST', path: `/v1/events/${id}/redeliver`, idempotencyKey }, (signal) =>
      this.transport.client.POST('/v1/events/{id}/redeliver', {
        params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey } },
        body: params,
        signal,
      }),
    );
  }
}
