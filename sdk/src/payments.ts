import type { Transport } from './transport.js';
import type {
  IdempotentRequestOptions,
  Payment,
  PaymentCreateRequest,
  PaymentList,
  PaymentListParams,
  PaymentUpdateRequest,
  WithLastResponse,
} from './types.js';

export class Payments {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** Creates and charges. A `processing` payment (202) is a success: its outcome settles later. */
  create(params: PaymentCreateRequest, options: IdempotentRequestOptions = {}): Promise<WithLastResponse<Payment>> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.transport.send({ method: 'POST', path: '/v1/payments', idempotencyKey }, (signal) =>
      this.transport.client.POST('/v1/payments', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: params, signal }),
    );
  }

  retrieve(id: string): Promise<WithLastResponse<Payment>> {
    return this.transport.send({ method: 'GET', path: `/v1/payments/${id}`, idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/payments/{id}', { params: { path: { id } }, signal }),
    );
  }

  /** `metadata` is merged into the payment's; a key set to `""` is removed. */
  update(id: string, params: PaymentUpdateRequest, options: IdempotentRequestOptions = {}): Promise<WithLastResponse<Payment>> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.transport.send({ method: 'PATCH', path: `/v1/payments/${id}`, idempotencyKey }, (signal) =>
      this.transport.client.PATCH('/v1/payments/{id}', {
        params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey } },
        body: params,
        signal,
      }),
    );
  }

  /** Newest first; pass the last id of a page as `starting_after` for the next one. */
  list(params: PaymentListParams = {}): Promise<WithLastResponse<PaymentList>> {
    return this.transport.send({ method: 'GET', path: '/v1/payments', idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/payments', { params: { query: params }, signal }),
    );
  }
}
