import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context.js';
import { newId } from '../../common/ids.js';
import { Refusal } from '../../errors/problem.js';
import { Outbox } from '../../events/outbox.js';
import { CrashPoints } from '../../faults/crash-points.js';
import { type ClaimedKey, STARTED } from '../../idempotency/claimed-key.js';
import { differingFields } from '../../idempotency/fingerprint.js';
import { IdempotencyService, KeyReusedError } from '../../idempotency/idempotency.service.js';
import { IdempotentOperations } from '../../idempotency/idempotent-operations.js';
import type { StoredResponse } from '../../idempotency/stored-response.js';
import { reconcileDelayMs } from '../../common/reconcile-backoff.js';
import { AppConfig } from '../../config/app-config.js';
import type { ChargeRequest } from '../../provider/payment-provider.js';
import { type CallContext, type CallOutcome, ProviderGateway } from '../../provider/provider-gateway.js';
import { CreatePaymentDto } from '../dto/create-payment.dto.js';
import { chargeKeyOf, paymentCreatedResponse, type PaymentRow, type PaymentStatus } from '../payment.js';
import { PaymentsRepository } from '../payments.repository.js';

const PAYMENT_CREATED = 'payment_created';
const ROUTE = 'POST /v1/payments';

/**
 * POST /v1/payments as atomic phases. Each phase is one short transaction and records a recovery
 * point; the provider is called between them, with no connection held. The provider's capacity is
 * taken before the payment is stored, and a refusal removes what was stored with the claim. A retry
 * that takes a stale lease over asks the provider first, and so does the completer.
 */
@Injectable()
export class CreatePaymentOperation implements OnModuleInit {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly operations: IdempotentOperations,
    private readonly payments: PaymentsRepository,
    private readonly gateway: ProviderGateway,
    private readonly config: AppConfig,
    private readonly outbox: Outbox,
    private readonly crashPoints: CrashPoints,
  ) {}

  onModuleInit(): void {
    this.operations.register(ROUTE, (key) => this.resume(key));
  }

  /** A client's request: a new one, or a retry that took the key over from an owner that died. */
  async run(auth: AuthContext, dto: CreatePaymentDto, key: ClaimedKey): Promise<StoredResponse> {
    let payment = key.recoveryPoint === STARTED ? undefined : await this.strandedPayment(key);
    if (payment) {
      // The owner that died may have charged: ask before charging. An answer nobody can give now
      // makes the payment `processing`, for the reconciler.
      const known = await this.gateway.findCharge(payment.provider_key, this.contextOf(payment));
      if (known.kind !== 'not_found') return this.finish(auth, key, payment, known);
    }
    try {
      return await this.gateway.reserve(auth, async (slot) => {
        if (!payment) {
          const created = await this.createPayment(auth, dto, key);
          if ('answer' in created) return created.answer;
          payment = created.payment;
          this.crashPoints.reached('payment_created');
        }
        const outcome = await slot.charge(chargeOf(payment), this.contextOf(payment));
        this.crashPoints.reached('provider_called');
        return this.finish(auth, key, payment, outcome);
      });
    } catch (error) {
      // Told nothing was charged (and it was not): the payment goes with the claim.
      if (error instanceof Refusal && payment) await this.abandon(key, payment);
      throw error;
    }
  }

  /** The completer: a payment stored before its owner died, with no client retry (see ResumeOperation). */
  private async resume(key: ClaimedKey): Promise<StoredResponse | undefined> {
    const payment = await this.strandedPayment(key);
    const known = await this.gateway.findCharge(payment.provider_key, this.contextOf(payment));
    if (known.kind === 'not_found') {
      await this.abandon(key, payment);
      return undefined;
    }
    if (known.kind === 'unknown') throw new Error(`the provider could not tell how ${payment.provider_key} ended (${known.reason}); asked again later`);
    return this.finish(key.auth, key, payment, known);
  }

  private async strandedPayment(key: ClaimedKey): Promise<PaymentRow> {
    const found = key.resourceId ? await this.payments.findById(key.auth, key.resourceId) : undefined;
    if (!found) throw new Error(`key ${key.id} is at ${key.recoveryPoint} but its payment is missing`);
    return found;
  }

  private abandon(key: ClaimedKey, payment: PaymentRow): Promise<void> {
    return this.idempotency.abandon(key, (m) => this.payments.deleteUncharged(m, payment.id));
  }

  private contextOf(payment: PaymentRow): CallContext {
    return { mode: payment.mode, merchantId: payment.merchant_id, paymentId: payment.id, deadline: Date.now() + this.gateway.budgetMs };
  }

  /** Phase 2: the payment row, keyed by operation_id = the Idempotency-Key. */
  private createPayment(auth: AuthContext, dto: CreatePaymentDto, key: ClaimedKey): Promise<{ payment: PaymentRow } | { answer: StoredResponse }> {
    return this.idempotency.phase(key, async (m) => {
      const id = newId('pay');
      const payment = await this.payments.insert(m, auth, {
        id,
        operationId: key.key,
        requestFingerprint: key.fingerprint,
        amount: dto.amount,
        currency: dto.currency.toLowerCase(),
        paymentMethod: dto.payment_method,
        description: dto.description ?? null,
        metadata: dto.metadata ?? {},
        providerKey: chargeKeyOf(id),
      });
      if (payment) {
        await this.idempotency.advance(m, key, PAYMENT_CREATED, payment.id);
        return { payment };
      }
      // The key's stored answer was swept after its TTL, but the payment it made is still here.
      const existing = await this.payments.findByOperationId(m, auth, key.key);
      if (!existing) throw new Error('operation_id conflict without a payment');
      if (existing.request_fingerprint !== key.fingerprint) throw reusedKeyError(existing, dto);
      return { answer: await this.idempotency.finish(m, key, paymentCreatedResponse(existing)) };
    });
  }

  /** Phase 4: the outcome, its transition, the outbox event and the stored answer, in one transaction. */
  private finish(auth: AuthContext, key: ClaimedKey, payment: PaymentRow, outcome: CallOutcome): Promise<StoredResponse> {
    const status: PaymentStatus = outcome.kind === 'unknown' ? 'processing' : outcome.kind;
    return this.idempotency.phase(key, async (m) => {
      const { payment: updated, moved } = await this.payments.moveTo(m, payment.id, status, outcome.kind === 'unknown' ? `unknown: ${outcome.reason}` : 'provider answered', {
        chargeId: outcome.kind === 'unknown' ? null : outcome.id,
        failureCode: outcome.kind === 'failed' ? outcome.failureCode : null,
        failureMessage: outcome.kind === 'failed' ? outcome.failureMessage : null,
        reconcileAfterMs: reconcileDelayMs(0, this.config.reconcileBaseMs, this.config.reconcileMaxMs),
      });
      if (moved) {
        await this.outbox.append(m, auth, { paymentId: payment.id, type: `payment.${status}`, data: { status, failure_code: updated.failure_code } });
      }
      return this.idempotency.finish(m, key, paymentCreatedResponse(updated));
    });
  }
}

function chargeOf(payment: PaymentRow): ChargeRequest {
  return { providerKey: payment.provider_key, amount: Number(payment.amount), currency: payment.currency, paymentMethod: payment.payment_method, reference: payment.id };
}

/** The immutable fields tell a different request apart; the mutable ones may have been changed since. */
function reusedKeyError(existing: PaymentRow, dto: CreatePaymentDto): KeyReusedError {
  const fields = differingFields(
    { amount: Number(existing.amount), currency: existing.currency, payment_method: existing.payment_method },
    { amount: dto.amount, currency: dto.currency.toLowerCase(), payment_method: dto.payment_method },
  );
  return new KeyReusedError(`This Idempotency-Key already created payment ${existing.id} with a different request`, fields);
}
