/**
 * The sandbox's money and keys: every charge and refund it executed, the answer stored for each
 * idempotency key, and how many times each key really executed. A key executes once: a request with
 * a known key gets the stored answer (waiting for it while it runs); a refused request stores nothing.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export type Operation = 'charge' | 'refund';

export interface ChargeRecord {
  readonly id: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: 'succeeded' | 'failed';
  readonly paymentMethod: string;
  /** Includes refunds accepted but still executing, so concurrent refunds are checked against each other. */
  refunded: number;
}

export interface ChargeRequest {
  amount: number;
  currency: string;
  paymentMethod: string;
  reference: unknown;
}

export interface RefundRequest {
  charge: string;
  amount: number;
  currency: string;
  reference: unknown;
}

/** An answer on its way, and whether it is the stored answer of an earlier request with the key. */
export interface Submitted {
  answer: Promise<Answer>;
  replayed: boolean;
  /** Set only on the request whose answer is a new execution: the one that announces it. */
  executes?: { operation: Operation; key: string };
}

interface KeyRecord {
  operation: Operation;
  fingerprint: string;
  answer: Promise<Answer>;
}

/** Refused before it starts (nothing stored), or accepted: `execute` runs once the request's latency has passed. */
type Admission = { refused: Answer } | { execute: () => Answer };

const OUTCOMES: Record<string, { failure_code: string; failure_message: string } | null> = {
  pm_card_visa: null,
  pm_card_mastercard: null,
  pm_card_amex: null,
  pm_card_refund_fails: null,
  pm_card_declined: { failure_code: 'card_declined', failure_message: 'Your card was declined.' },
  pm_card_insufficient_funds: { failure_code: 'insufficient_funds', failure_message: 'Your card has insufficient funds.' },
  pm_card_expired: { failure_code: 'expired_card', failure_message: 'Your card has expired.' },
};

const UNKNOWN_METHOD = { failure_code: 'invalid_payment_method', failure_message: 'No such payment method.' };

/** Its charges succeed and every refund of them fails, so a refund can fail the way a real one does. */
const REFUND_FAILS = 'pm_card_refund_fails';
const REFUND_FAILURE = { failure_code: 'refund_failed', failure_message: 'The refund could not be completed.' };

export function errorAnswer(status: number, code: string, message?: string): Answer {
  return { status, body: { error: message === undefined ? { code } : { code, message } } };
}

function fingerprint(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Ledger {
  readonly byKey = new Map<string, KeyRecord>();
  readonly executions = new Map<string, number>();
  /** By charge id. */
  readonly charges = new Map<string, ChargeRecord>();

  charge(key: string, request: ChargeRequest, delayMs: number): Submitted {
    const print = fingerprint([request.amount, request.currency, request.paymentMethod]);
    return this.submit(key, 'charge', print, delayMs, () => ({ execute: () => this.executeCharge(request) }));
  }

  refund(key: string, request: RefundRequest, delayMs: number): Submitted {
    const print = fingerprint([request.charge, request.amount, request.currency]);
    return this.submit(key, 'refund', print, delayMs, () => this.admitRefund(request));
  }

  /** The answer of the key's execution, waiting for it if it still runs; undefined if the key never executed this operation. */
  lookup(key: string, operation: Operation): Promise<Answer> | undefined {
    const record = this.byKey.get(key);
    return record?.operation === operation ? record.answer : undefined;
  }

  private submit(key: string, operation: Operation, print: string, delayMs: number, admit: () => Admission): Submitted {
    const known = this.byKey.get(key);
    if (known) {
      if (known.operation !== operation || known.fingerprint !== print) {
        return { answer: Promise.resolve(errorAnswer(409, 'idempotency_key_reused')), replayed: false };
      }
      return { answer: known.answer, replayed: true };
    }
    const admission = admit();
    if ('refused' in admission) return { answer: Promise.resolve(admission.refused), replayed: false };
    // Stored before it runs, so a concurrent request or lookup with the same key waits for this execution.
    const answer = sleep(delayMs).then(() => {
      this.executions.set(key, (this.executions.get(key) ?? 0) + 1);
      return admission.execute();
    });
    this.byKey.set(key, { operation, fingerprint: print, answer });
    return { answer, replayed: false, executes: { operation, key } };
  }

  private executeCharge(request: ChargeRequest): Answer {
    const failure = request.paymentMethod in OUTCOMES ? OUTCOMES[request.paymentMethod] : UNKNOWN_METHOD;
    const charge: ChargeRecord = {
      id: `ch_${randomBytes(12).toString('hex')}`,
      amount: request.amount,
      currency: request.currency,
      status: failure ? 'failed' : 'succeeded',
      paymentMethod: request.paymentMethod,
      refunded: 0,
    };
    this.charges.set(charge.id, charge);
    return {
      status: 200,
      body: {
        id: charge.id,
        object: 'charge',
        amount: charge.amount,
        currency: charge.currency,
        reference: request.reference ?? null,
        status: charge.status,
        failure_code: failure?.failure_code ?? null,
        failure_message: failure?.failure_message ?? null,
      },
    };
  }

  /** Checks and reserves the amount in one synchronous step, so no interleaving can refund more than was charged. */
  private admitRefund(request: RefundRequest): Admission {
    const charge = this.charges.get(request.charge);
    if (!charge) return { refused: errorAnswer(404, 'resource_missing') };
    if (charge.status !== 'succeeded') return { refused: errorAnswer(400, 'charge_not_refundable') };
    if (request.currency.toLowerCase() !== charge.currency.toLowerCase()) return { refused: errorAnswer(400, 'currency_mismatch') };
    if (charge.refunded + request.amount > charge.amount) return { refused: errorAnswer(400, 'amount_too_large') };
    charge.refunded += request.amount;
    return {
      execute: () => {
        const failure = charge.paymentMethod === REFUND_FAILS ? REFUND_FAILURE : null;
        // A failed refund moved no money: its reservation is given back.
        if (failure) charge.refunded -= request.amount;
        return {
          status: 200,
          body: {
            id: `re_${randomBytes(12).toString('hex')}`,
            object: 'refund',
            charge: charge.id,
            amount: request.amount,
            currency: request.currency,
            reference: request.reference ?? null,
            status: failure ? 'failed' : 'succeeded',
            failure_code: failure?.failure_code ?? null,
            failure_message: failure?.failure_message ?? null,
          },
        };
      },
    };
  }
}
