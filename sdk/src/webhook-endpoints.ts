import type { Transport } from './transport.js';
import type {
  IdempotentRequestOptions,
  WebhookEndpoint,
  WebhookEndpointCreateRequest,
  WebhookEndpointDeleted,
  WebhookEndpointList,
  WebhookEndpointListParams,
  WebhookEndpointUpdateRequest,
  WebhookEndpointWithSecret,
  WithLastResponse,
} from './types.js';

/** Where the API sends a merchant's events, and the secrets that sign them. */
export class WebhookEndpoints {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** The answer's `secret` (`whsec_…`) is shown this once: keep it for `verifyWebhook`. */
  create(params: WebhookEndpointCreateRequest, options: IdempotentRequestOptions = {}): Promise<WithLastResponse<WebhookEndpointWithSecret>> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.transport.send({ method: 'POST', path: '/v1/webhook_endpoints', idempotencyKey }, (signal) =>
      this.transport.client.POST('/v1/webhook_endpoints', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: params, signal }),
    );
  }

  retrieve(id: string): Promise<WithLastResponse<WebhookEndpoint>> {
    return this.transport.send({ method: 'GET', path: `/v1/webhook_endpoints/${id}`, idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/webhook_endpoints/{id}', { params: { path: { id } }, signal }),
    );
  }

  /** `description: null` clears it; `disabled: false` switches a disabled endpoint back on. */
  update(id: string, params: WebhookEndpointUpdateRequest, options: IdempotentRequestOptions = {}): Promise<WithLastResponse<WebhookEndpoint>> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.transport.send({ method: 'PATCH', path: `/v1/webhook_endpoints/${id}`, idempotencyKey }, (signal) =>
      this.transport.client.PATCH('/v1/webhook_endpoints/{id}', {
        params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey } },
        body: params,
        signal,
      }),
    );
  }

  /** Newest first; pass the last id of a page as `starting_after` for the next one. */
  list(params: WebhookEndpointListParams = {}): Promise<WithLastResponse<WebhookEndpointList>> {
    return this.transport.send({ method: 'GET', path: '/v1/webhook_endpoints', idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/webhook_endpoints', { params: { query: params }, signal }),
    );
  }

  /**
   * Deletes the endpoint. Sends no key (a delete is idempotent by nature), so a retry after a lost
   * answer may be told 404 for an endpoint its first attempt deleted.
   */
  del(id: string): Promise<WithLastResponse<WebhookEndpointDeleted>> {
    return this.transport.send({ method: 'DELETE', path: `/v1/webhook_endpoints/${id}`, idempotencyKey: null }, (signal) =>
      this.transport.client.DELETE('/v1/webhook_endpoints/{id}', { params: { path: { id } }, signal }),
    );
  }

  /**
   * A new signing secret, in the answer's `secret`. The old one keeps signing beside it for the grace
   * period (24 h by default), so verify with both until your receiver has the new one. Retries reuse
   * the call's key, so they get the same new secret; pass your own key to make a rotation survive a crash.
   */
  rotateSecret(id: string, options: IdempotentRequestOptions = {}): Promise<WithLastResponse<WebhookEndpointWithSecret>> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.transport.send({ method: 'POST', path: `/v1/webhook_endpoints/${id}/rotate_secret`, idempotencyKey }, (signal) =>
      this.transport.client.POST('/v1/webhook_endpoints/{id}/rotate_secret', {
        params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey } },
        body: {},
        signal,
      }),
    );
  }
}
