import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context.js';
import { newId } from '../../common/ids.js';
import { reconcileDelayMs } from '../../common/reconcile-backoff.js';
import { AppConfig } from '../../config/app-config.js';
import { Refusal } from '../../errors/problem.js';
import { Outbox } from '../../events/outbox.js';
import { CrashPoints } from '../../faults/crash-points.js';
import { type ClaimedKey, type IdempotentCall, STARTED } from '../../idempotency/claimed-key.js';
import { differingFields } from '../../idempotency/fingerprint.js';
import { IdempotencyService, KeyReusedError, keyInUse, LeaseLostError, Replayed } from '../../idempotency/idempotency.service.js';
import { IdempotentOperations } from '../../idempotency/idempotent-operations.js';
import type { StoredResponse } from '../../idempotency/stored-response.js';
import { Tracing } from '../../observability/tracing.js';
import type { ChargeRequest } from '../../provider/payment-provider.js';
import { type AttemptRecord, ProviderAttemptsRepository } from '../../provider/provider-attempts.repository.js';
import { type CallContext, type CallOutcome, ProviderGateway, type ProviderSlot } from '../../provider/provider-gateway.js';
import type { CreatePaymentDto } from '../dto/create-payment.dto.js';
import { type ChargeOutcome, PaymentPhasesRepository } from '../payment-phases.repository.js';
import { chargeKeyOf, paymentCreatedResponse, type PaymentRow, type PaymentStatus, toPaymentResource } from '../payment.js';
import { PaymentsRepository } from '../payments.repository.js';

const PAYMENT_CREATED = 'payment_created';
const ROUTE = 'POST /v1/payments';
/** The span of phase 2, in one statement or several. */
const STORE_OUTCOME = 'payment.store_outcome';

/** What an earlier request with the key must match: the fields a payment can never change. */
type RequestedCharge = Pick<CreatePaymentDto, 'amount' | 'currency' | 'payment_method'>;

/**
 * POST /v1/payments in two phases around the provider call, one statement each: the claim with the
 * payment, then the outcome with the stored answer. The provider's capacity is taken before
 * anything is stored, and a refusal removes what was stored with the claim. A key that already
 * exists is answered (replayed, refused, or in progress) or, when its owner died, taken over: that
 * retry asks the provider first, and so does the completer.
 */
@Injectable()
export class CreatePaymentOperation implements OnModuleInit {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly operations: IdempotentOperations,
    private readonly payments: PaymentsRepository,
    private readonly phases: PaymentPhasesRepository,
    private readonly attempts: ProviderAttemptsRepository,
    private readonly gateway: ProviderGateway,
    private readonly config: AppConfig,
    private readonly outbox: Outbox,
    private readonly crashPoints: CrashPoints,
    private readonly tracing: Tracing,
  ) {}

  onModuleInit(): void {
    this.operations.register(ROUTE, (key) => this.resume(key));
  }

  /** A client's request, with its key not claimed yet. */
  async run(auth: AuthContext, dto: CreatePaymentDto, call: IdempotentCall): Promise<StoredResponse | Replayed> {
    let refusal: Refusal | undefined;
    try {
      const answer = await this.gateway.reserve(auth, (slot) => this.createAndCharge(auth, dto, call, slot));
      if (answer) return answer;
    } catch (error) {
      // Refused before anything was stored: an earlier request with this key still gets its answer.
      if (!(error instanceof Refusal) || call.claimed) throw error;
      refusal = error;
    }
    const outcome = await this.idempotency.claimExisting(call);
    if (!outcome) throw refusal ?? keyInUse(); // removed since (its request was refused): a retry starts afresh
    if (outcome.kind === 'replay') return new Replayed(outcome.response);
    return this.takeOver(auth, outcome.key);
  }

  /** A new key: phase 1, the charge, phase 2. Undefined when the key exists. */
  private async createAndCharge(auth: AuthContext, dto: CreatePaymentDto, call: IdempotentCall, slot: ProviderSlot): Promise<StoredResponse | undefined> {
    const id = newId('pay');
    const newPayment = {
      id,
      amount: dto.amount,
      currency: dto.currency.toLowerCase(),
      paymentMethod: dto.payment_method,
      description: dto.description ?? null,
      metadata: dto.metadata ?? {},
      providerKey: chargeKeyOf(id),
    };
    const stored = await this.tracing.inSpan('payment.claim', () => this.phases.claimWithPayment(call, newPayment, slot.provider));
    if (!stored) return undefined;
    if ('earlierPaymentId' in stored) {
      const key = this.idempotency.claimed(call, stored.keyId, PAYMENT_CREATED, stored.earlierPaymentId, stored.keyCreatedAt);
      return this.answerWithEarlier(key, dto);
    }
    const { payment, sentAttemptId } = stored;
    const key = this.idempotency.claimed(call, stored.keyId, PAYMENT_CREATED, payment.id, stored.keyCreatedAt);
    this.crashPoints.reached('payment_created');

    const attempts: AttemptRecord[] = [];
    const outcome = await this.charge(key, payment, slot, attempts, sentAttemptId);
    this.crashPoints.reached('provider_called');

    const change = this.outcomeOf(payment, outcome);
    const result = await this.tracing.inSpan(STORE_OUTCOME, () =>
      this.phases.storeOutcome(key, payment, change, sentAttemptId, attempts).catch((error: unknown) => {
        // Another event for this payment was appended meanwhile: the numbering needs the phase's row lock.
        if ((error as { code?: string }).code === '23505') return 'not-pending' as const;
        throw error;
      }),
    );
    // Taken over: the new owner asks the provider, and its lookup settles the attempt stored as sent.
    if (result === 'lease-lost') throw new LeaseLostError();
    if (result === 'stored') return change.response;
    return this.finish(key, payment, outcome, attempts, sentAttemptId);
  }

  /** The charge, with the slot already held. A Refusal (nothing was charged) removes the payment with the claim. */
  private async charge(key: ClaimedKey, payment: PaymentRow, slot: ProviderSlot, attempts: AttemptRecord[], sentAttemptId?: string): Promise<CallOutcome> {
    try {
      return await this.tracing.inSpan('payment.charge', () => slot.charge(chargeOf(payment), { ...this.contextOf(payment), attempts }));
    } catch (error) {
      if (error instanceof Refusal) await this.abandon(key, payment, attempts, sentAttemptId);
      throw error;
    }
  }

  /**
   * A retry that took over the key of an owner that died after storing the payment. It may have
   * charged: ask before charging. An answer nobody can give now makes the payment `processing`, for
   * the reconciler.
   */
  private async takeOver(auth: AuthContext, key: ClaimedKey): Promise<StoredResponse> {
    if (key.recoveryPoint === STARTED) {
      // Claimed by an earlier version, which stored the payment in a later phase: nothing was done yet.
      await this.idempotency.abandon(key);
      throw keyInUse();
    }
    const payment = await this.strandedPayment(key);
    const known = await this.gateway.findCharge(payment.provider_key, this.contextOf(payment));
    if (known.kind !== 'not_found') return this.finish(key, payment, known, []);
    try {
      return await this.gateway.reserve(auth, async (slot) => {
        const attempts: AttemptRecord[] = [];
        const outcome = await this.charge(key, payment, slot, attempts);
        this.crashPoints.reached('provider_called');
        return this.finish(key, payment, outcome, attempts);
      });
    } catch (error) {
      // Refused before the charge (the kill switch, the breaker, a full bulkhead): the payment goes with the claim.
      if (error instanceof Refusal && !key.abandoned) await this.abandon(key, payment, []);
      throw error;
    }
  }

  /** The completer: a payment stored before its owner died, with no client retry (see ResumeOperation). */
  private async resume(key: ClaimedKey): Promise<StoredResponse | undefined> {
    const payment = await this.strandedPayment(key);
    const known = await this.gateway.findCharge(payment.provider_key, this.contextOf(payment));
    if (known.kind === 'not_found') {
      await this.abandon(key, payment, []);
      return undefined;
    }
    if (known.kind === 'unknown') throw new Error(`the provider could not tell how ${payment.provider_key} ended (${known.reason}); asked again later`);
    return this.finish(key, payment, known, []);
  }

  /** The key's payment; a key whose value an earlier, different request used (since swept) is refused. */
  private async strandedPayment(key: ClaimedKey): Promise<PaymentRow> {
    const found = key.resourceId ? await this.payments.findById(key.auth, key.resourceId) : undefined;
    if (!found) throw new Error(`key ${key.id} is at ${key.recoveryPoint} but its payment is missing`);
    if (found.request_fingerprint !== key.fingerprint) throw reusedKeyError(found, key.request.body as RequestedCharge);
    return found;
  }

  /** The key was swept after its TTL, but the payment it made is still here: its answer, or a 422 for a different request. */
  private answerWithEarlier(key: ClaimedKey, dto: CreatePaymentDto): Promise<StoredResponse> {
    return this.idempotency.phase(key, async (m) => {
      const earlier = await this.payments.findById(key.auth, key.resourceId!, m);
      if (!earlier) throw new Error(`payment ${key.resourceId} vanished`);
      if (earlier.request_fingerprint !== key.fingerprint) throw reusedKeyError(earlier, dto);
      return this.idempotency.finish(m, key, paymentCreatedResponse(earlier));
    });
  }

  /** The claim and the payment go in one transaction, keeping the record of the calls made for it. */
  private abandon(key: ClaimedKey, payment: PaymentRow, attempts: AttemptRecord[], sentAttemptId?: string): Promise<void> {
    return this.idempotency.abandon(key, async (m) => {
      await this.payments.deleteUncharged(m, payment.id);
      await this.attempts.store(m, sentAttemptId, attempts);
    });
  }

  private contextOf(payment: PaymentRow): CallContext {
    return { mode: payment.mode, merchantId: payment.merchant_id, paymentId: payment.id, deadline: Date.now() + this.gateway.budgetMs };
  }

  /** What phase 2 writes for this outcome, the answer included, decided before the one statement that writes it. */
  private outcomeOf(payment: PaymentRow, outcome: CallOutcome): ChargeOutcome {
    const status: PaymentStatus = outcome.kind === 'unknown' ? 'processing' : outcome.kind;
    const failureCode = outcome.kind === 'failed' ? outcome.failureCode : null;
    const failureMessage = outcome.kind === 'failed' ? outcome.failureMessage : null;
    const chargeId = outcome.kind === 'unknown' ? null : outcome.id;
    const updatedAt = new Date(Math.max(Date.now(), payment.created_at.getTime()));
    const updated: PaymentRow = { ...payment, status, failure_code: failureCode, failure_message: failureMessage, provider_charge_id: chargeId ?? payment.provider_charge_id, updated_at: updatedAt };
    const response = paymentCreatedResponse(updated);
    return {
      status,
      failureCode,
      failureMessage,
      chargeId,
      reconcileAfterMs: this.reconcileAfterMs(),
      updatedAt,
      reason: reasonOf(outcome),
      // The answer's body is the payment as this outcome leaves it: the event carries the same bytes.
      event: { id: newId('evt'), type: `payment.${status}`, resource: response.body },
      response,
    };
  }

  /**
   * Phase 2 as separate statements in one transaction, for what the single statement cannot
   * decide: a payment that may have moved already, or a key resumed after its owner died.
   */
  private finish(key: ClaimedKey, payment: PaymentRow, outcome: CallOutcome, attempts: AttemptRecord[], sentAttemptId?: string): Promise<StoredResponse> {
    const status: PaymentStatus = outcome.kind === 'unknown' ? 'processing' : outcome.kind;
    return this.tracing.inSpan(STORE_OUTCOME, () => this.idempotency.phase(key, async (m) => {
      const { payment: updated, moved } = await this.payments.moveTo(m, payment.id, status, reasonOf(outcome), {
        chargeId: outcome.kind === 'unknown' ? null : outcome.id,
        failureCode: outcome.kind === 'failed' ? outcome.failureCode : null,
        failureMessage: outcome.kind === 'failed' ? outcome.failureMessage : null,
        reconcileAfterMs: this.reconcileAfterMs(),
      });
      if (moved) {
        await this.outbox.append(m, key.auth, { paymentId: payment.id, type: `payment.${status}`, resource: toPaymentResource(updated) });
      }
      await this.attempts.store(m, sentAttemptId, attempts);
      return this.idempotency.finish(m, key, paymentCreatedResponse(updated));
    }));
  }

  private reconcileAfterMs(): number {
    return reconcileDelayMs(0, this.config.reconcileBaseMs, this.config.reconcileMaxMs);
  }
}

function reasonOf(outcome: CallOutcome): string {
  return outcome.kind === 'unknown' ? `unknown: ${outcome.reason}` : 'provider answered';
}

function chargeOf(payment: PaymentRow): ChargeRequest {
  return { providerKey: payment.provider_key, amount: Number(payment.amount), currency: payment.currency, paymentMethod: payment.payment_method, reference: payment.id };
}

/** The immutable fields tell a different request apart; the mutable ones may have been changed since. */
function reusedKeyError(existing: PaymentRow, requested: RequestedCharge): KeyReusedError {
  const fields = differingFields(
    { amount: Number(existing.amount), currency: existing.currency, payment_method: existing.payment_method },
    { amount: requested.amount, currency: String(requested.currency).toLowerCase(), payment_method: requested.payment_method },
  );
  return new KeyReusedError(`This Idempotency-Key already created payment ${existing.id} with a different request`, fields);
}
