import type { Mode } from '../auth/auth-context.js';
import type { components } from '../generated/v1.js';
import { jsonResponse, type StoredResponse } from '../idempotency/stored-response.js';

export type RefundStatus = components['schemas']['RefundStatus'];
export type RefundReason = components['schemas']['RefundReason'];
export type RefundResource = components['schemas']['Refund'];

export const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const satisfies readonly RefundReason[];

export interface RefundRow {
  id: string;
  merchant_id: string;
  mode: Mode;
  payment_id: string;
  operation_id: string;
  request_fingerprint: string;
  amount: string;
  currency: string;
  reason: RefundReason | null;
  metadata: Record<string, string>;
  status: RefundStatus;
  failure_code: string | null;
  failure_message: string | null;
  provider_key: string;
  provider_refund_id: string | null;
  reconcile_attempts: number;
  next_reconcile_at: Date | null;
  /** The request's, for the reconciler's run on the refund. */
  traceparent: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The provider's idempotency key for a refund: ours, derived from the refund id. */
export function refundKeyOf(refundId: string): string {
  return `${refundId}:refund`;
}

export function toRefundResource(row: RefundRow): RefundResource {
  return {
    id: row.id,
    object: 'refund',
    payment: row.payment_id,
    amount: Number(row.amount),
    currency: row.currency,
    status: row.status,
    reason: row.reason,
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
export function refundCreatedResponse(row: RefundRow): StoredResponse {
  return jsonResponse(row.status === 'processing' ? 202 : 201, toRefundResource(row), {
    location: `/v1/payments/${row.payment_id}/refunds/${row.id}`,
  });
}
