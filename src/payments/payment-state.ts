import type { PaymentStatus } from './payment.js';

/** The one state machine of a payment: forward only, so a late or repeated answer changes nothing. */
const NEXT: Record<PaymentStatus, readonly PaymentStatus[]> = {
  pending: ['processing', 'succeeded', 'failed'],
  processing: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export function canMove(from: PaymentStatus, to: PaymentStatus): boolean {
  return NEXT[from].includes(to);
}
