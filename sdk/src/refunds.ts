import type { Transport } from './transport.js';
import type { IdempotentRequestOptions, Refund, RefundCreateRequest, RefundList, RefundListParams, WithLastResponse } from './types.js';

/** Refunds of a payment: every call names the payment, as the API's paths do. */
export class Refunds {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /**
   * Refunds `amount` of a succeeded payment, or by default all that is not refunded yet. A refusal by
   * the provider is a refund with `status: 'failed'`, not an error; `processing` (202) settles later.
   * Asking for more than is left throws 400 `refund-exceeds-payment`, and that stays the key's answer.
   */
  create(paymentId: string, params: RefundCreateRequest = {}, options: IdempotentRequestOptions = {}): Promise<WithLastResponse<Refund>> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.transport.send({ method: 'POST', path: `/v1/payments/${paymentId}/refunds`, idempotencyKey }, (signal) =>
      this.transport.client.POST('/v1/payments/{id}/refunds', {
        params: { path: { id: paymentId }, header: { 'Idempotency-Key': idempotencyKey } },
        body: params,
        signal,
      }),
    );
  }

  retrieve(paymentId: string, refundId: string): Promise<WithLastResponse<Refund>> {
    return this.transport.send({ method: 'GET', path: `/v1/payments/${paymentId}/refunds/${refundId}`, idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/payments/{id}/refunds/{refund_id}', { params: { path: { id: paymentId, refund_id: refundId } }, signal }),
    );
  }

  /** Newest first; pass the last id of a page as `starting_after` for the next one. */
  list(paymentId: string, params: RefundListParams = {}): Promise<WithLastResponse<RefundList>> {
    return this.transport.send({ method: 'GET', path: `/v1/payments/${paymentId}/refunds`, idempotencyKey: null }, (signal) =>
      this.transport.client.GET('/v1/payments/{id}/refunds', { params: { path: { id: paymentId }, query: params }, signal }),
    );
  }
}
