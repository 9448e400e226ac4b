import type { Mode } from '../auth/auth-context.js';
import type { components } from '../generated/v1.js';
import { jsonResponse, type StoredResponse } from '../idempotency/stored-response.js';

export type PaymentStatus = components['schemas']['PaymentStatus'];
export type PaymentResource = components['schemas']['Payment'];

export interface PaymentRow {
  id: string;
  merchant_id: string;
  mode: Mode;
  operation_id: string;
  request_fingerprint: string;
  amount: string;
  amount_refunded: string;
  currency: string;
  payment_method: string;
  description: string | null;
  metadata: Record<string, string>;
  status: PaymentStatus;
  failure_code: string | null;
  failure_message: string | null;
  provider_key: string;
  provider_charge_id: string | null;
  reconcile_attempts: number;
  /** The request's, for the reconciler's run on the payment. */
  traceparent: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The provider's idempotency key for charging a payment: ours, derived from the payment id. */
export function chargeKeyOf(paymentId: string): string {
  return `${paymentId}:charge`;
}

export function toPaymentResource(row: PaymentRow): PaymentResource {
  return {
    id: row.id,
    object: 'payment',
    amount: Number(row.amount),
    amount_refunded: Number(row.amount_refunded),
    currency: row.currency,
    status: row.status,
    payment_method: row.payment_method,
    description: row.description,
    metadata: row.metadata,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    operation_id: row.operation_id,
    livemode: row.mode === 'live',
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The create answer: 201 once the outcome is known, 202 while it is not (`processing`). */
export function paymentCreatedResponse(row: PaymentRow): StoredResponse {
  return jsonResponse(row.status === 'processing' ? 202 : 201, toPaymentResource(row), { location: `/v1/payments/${row.id}` });
}
