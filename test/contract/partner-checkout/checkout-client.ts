/**
 * A partner's checkout, as it calls idempay: plain fetch, reading only the fields it uses. Its
 * released contract (pacts/partner-checkout/) is what idempay must keep answering, whatever else
 * the Payment resource grows or changes.
 */

export type PaymentStatus = 'pending' | 'processing' | 'succeeded' | 'failed';

export interface Order {
  orderId: string;
  amount: number;
  currency: string;
  paymentMethod: string;
}

export interface CheckoutPayment {
  id: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  failureCode: string | null;
}

/** The checkout's endpoint for idempay's events, and the secret it verifies them with (shown once). */
export interface CheckoutWebhook {
  id: string;
  secret: string;
}

export class CheckoutError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`idempay answered ${status}${code ? ` (${code})` : ''}`);
  }
}

export class CheckoutClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** One payment per order: the order id is the Idempotency-Key, so a retried checkout never charges twice. */
  async pay(order: Order): Promise<CheckoutPayment> {
    const body = await this.send('POST', '/v1/payments', {
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `checkout-order-${order.orderId}` },
      body: JSON.stringify({
        amount: order.amount,
        currency: order.currency,
        payment_method: order.paymentMethod,
        metadata: { order_id: order.orderId },
      }),
    });
    return { id: body.id, status: body.status, amount: body.amount, currency: body.currency, failureCode: body.failure_code };
  }

  async statusOf(paymentId: string): Promise<PaymentStatus> {
    const body = await this.send('GET', `/v1/payments/${encodeURIComponent(paymentId)}`, {});
    return body.status;
  }

  /**
   * Since 1.1.0: at install, the checkout registers where idempay sends its payments' events. The key
   * is fixed, so an install retried after a lost answer gets the same endpoint and secret back.
   */
  async registerWebhook(url: string, events: string[], idempotencyKey: string): Promise<CheckoutWebhook> {
    const body = await this.send('POST', '/v1/webhook_endpoints', {
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
      body: JSON.stringify({ url, enabled_events: events }),
    });
    return { id: body.id, secret: body.secret };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async send(method: string, path: string, init: { headers?: Record<string, string>; body?: string }): Promise<any> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.apiKey}`, ...init.headers },
      body: init.body,
    });
    const body = await response.json().catch(() => undefined);
    if (!response.ok) throw new CheckoutError(response.status, body?.code);
    return body;
  }
}
