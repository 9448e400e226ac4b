import type { components } from '../../generated/v2.js';
import { CURRENCY_EXPONENTS } from '../currencies.js';
import type { PaymentRow } from '../payment.js';

export type PaymentV2Resource = components['schemas']['Payment'];

/** v2's rendering of the same stored payment: money as one object, the key named for what it is. */
export function toPaymentV2Resource(row: PaymentRow): PaymentV2Resource {
  return {
    id: row.id,
    object: 'payment',
    amount: { minor_units: Number(row.amount), currency: row.currency, exponent: CURRENCY_EXPONENTS[row.currency] },
    status: row.status,
    payment_method: row.payment_method,
    description: row.description,
    metadata: row.metadata,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    idempotency_key: row.operation_id,
    livemode: row.mode === 'live',
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
