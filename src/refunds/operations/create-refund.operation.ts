import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context.js';
import { newId } from '../../common/ids.js';
import { reconcileDelayMs } from '../../common/reconcile-backoff.js';
import { AppConfig } from '../../config/app-config.js';
import { ProblemError, Refusal } from '../../errors/problem.js';
import { CrashPoints } from '../../faults/crash-points.js';
import { type ClaimedKey, STARTED } from '../../idempotency/claimed-key.js';
import { differingFields } from '../../idempotency/fingerprint.js';
import { IdempotencyService, KeyReusedError } from '../../idempotency/idempotency.service.js';
import { IdempotentOperations } from '../../idempotency/idempotent-operations.js';
import type { StoredResponse } from '../../idempotency/stored-response.js';
import { type CallContext, type CallOutcome, ProviderGateway } from '../../provider/provider-gateway.js';
import { CreateRefundDto } from '../dto/create-refund.dto.js';
import { refundCreatedResponse, refundKeyOf, type RefundRow } from '../refund.js';
import { RefundOutcomes } from '../refund-outcomes.js';
import { type RefundablePayment, RefundsRepository } from '../refunds.repository.js';

const REFUND_CREATED = 'refund_created';
const ROUTE = 'POST /v1/payments/:id/refunds';

/**
 * POST /v1/payments/{id}/refunds as atomic phases, like a payment's create: the provider's capacity
 * is taken first, then the refund and its reservation on the payment are committed before the
 * provider is called, with no connection held during the call. A refusal removes what was stored
 * with the claim; a lease takeover and the completer ask the provider before anything else.
 */
@Injectable()
export class CreateRefundOperation implements OnModuleInit {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly operations: IdempotentOperations,
    private readonly refunds: RefundsRepository,
    private readonly gateway: ProviderGateway,
    private readonly outcomes: RefundOutcomes,
    private readonly crashPoints: CrashPoints,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.operations.register(ROUTE, (key) => this.resume(key));
  }

  /** A client's request: a new one, or a retry that took the key over from an owner that died. */
  async run(auth: AuthContext, paymentId: string, dto: CreateRefundDto, key: ClaimedKey): Promise<StoredResponse> {
    let stranded = key.recoveryPoint === STARTED ? undefined : await this.strandedRefund(key);
    if (stranded) {
      // The owner that died may have refunded: ask before sending it again.
      const known = await this.gateway.findRefund(stranded.refund.provider_key, contextOf(stranded.refund, this.gateway.budgetMs));
      if (known.kind !== 'not_found') return this.finish(key, stranded.refund, known);
    }
    try {
      return await this.gateway.reserve(auth, async (slot) => {
        if (!stranded) {
          const created = await this.createRefund(auth, paymentId, dto, key);
          if ('answer' in created) return created.answer;
          stranded = created;
        }
        const { refund, chargeId } = stranded;
        const outcome = await slot.refund(
          { providerKey: refund.provider_key, chargeId, amount: Number(refund.amount), currency: refund.currency, reference: refund.id },
          contextOf(refund, this.gateway.budgetMs),
        );
        this.crashPoints.reached('provider_called');
        return this.finish(key, refund, outcome);
      });
    } catch (error) {
      // Told nothing was refunded (and it was not): the refund and its reservation go with the claim.
      if (error instanceof Refusal && stranded) await this.abandon(key, stranded.refund);
      throw error;
    }
  }

  /** The completer: a refund stored before its owner died, with no client retry (see ResumeOperation). */
  private async resume(key: ClaimedKey): Promise<StoredResponse | undefined> {
    const { refund } = await this.strandedRefund(key);
    const known = await this.gateway.findRefund(refund.provider_key, contextOf(refund, this.gateway.budgetMs));
    if (known.kind === 'not_found') {
      await this.abandon(key, refund);
      return undefined;
    }
    if (known.kind === 'unknown') throw new Error(`the provider could not tell how ${refund.provider_key} ended (${known.reason}); asked again later`);
    return this.finish(key, refund, known);
  }

  private async strandedRefund(key: ClaimedKey): Promise<{ refund: RefundRow; chargeId: string }> {
    const paymentId = key.request.pathParams.id;
    const refund = key.resourceId ? await this.refunds.findById(key.auth, paymentId, key.resourceId) : undefined;
    const payment = await this.refunds.findPayment(key.auth, paymentId);
    if (!refund || !payment) throw new Error(`key ${key.id} is at ${key.recoveryPoint} but its refund is missing`);
    return { refund, chargeId: chargeIdOf(payment) };
  }

  private abandon(key: ClaimedKey, refund: RefundRow): Promise<void> {
    return this.idempotency.abandon(key, (m) => this.refunds.deleteUnsent(m, refund));
  }

  /**
   * Phase 2, under the payment's row lock: the refundable checks, the reservation on
   * `payments.amount_refunded` and the pending refund, keyed by operation_id = the Idempotency-Key.
   */
  private createRefund(
    auth: AuthContext,
    paymentId: string,
    dto: CreateRefundDto,
    key: ClaimedKey,
  ): Promise<{ refund: RefundRow; chargeId: string } | { answer: StoredResponse }> {
    return this.idempotency.phase(key, async (m) => {
      const payment = await this.refunds.findPayment(auth, paymentId, m, true);
      // Another merchant's payment, or one of the other mode, is as unknown as a missing one.
      if (!payment) throw new ProblemError('resource-not-found', `No payment ${paymentId}.`);

      // The key's stored answer was swept after its TTL, but the refund it made is still here.
      const existing = await this.refunds.findByOperationId(m, auth, key.key);
      if (existing) {
        if (existing.request_fingerprint !== key.fingerprint) throw reusedKeyError(existing, paymentId, dto);
        return { answer: await this.idempotency.finish(m, key, refundCreatedResponse(existing)) };
      }

      if (payment.status !== 'succeeded') {
        throw new ProblemError('payment-not-refundable', `Payment ${payment.id} is ${payment.status}; only a succeeded payment can be refunded.`);
      }
      const left = Number(payment.amount) - Number(payment.amount_refunded);
      const amount = dto.amount ?? left;
      if (amount < 1 || amount > left) {
        const detail = left === 0
          ? `Payment ${payment.id} is already fully refunded.`
          : `A refund of ${amount} would exceed the ${left} left to refund on payment ${payment.id}.`;
        throw new ProblemError('refund-exceeds-payment', detail, [
          { field: 'amount', message: left === 0 ? 'nothing is left to refund' : `must be at most ${left}` },
        ]);
      }

      const id = newId('re');
      const refund = await this.refunds.insertReserving(m, auth, {
        id,
        paymentId: payment.id,
        operationId: key.key,
        requestFingerprint: key.fingerprint,
        amount,
        currency: payment.currency,
        reason: dto.reason ?? null,
        metadata: dto.metadata ?? {},
        providerKey: refundKeyOf(id),
      });
      await this.idempotency.advance(m, key, REFUND_CREATED, refund.id);
      return { refund, chargeId: chargeIdOf(payment) };
    });
  }

  /** Phase 4: the outcome (a failure gives the amount back), the outbox event and the stored answer, in one transaction. */
  private finish(key: ClaimedKey, refund: RefundRow, outcome: CallOutcome): Promise<StoredResponse> {
    return this.idempotency.phase(key, async (m) => {
      const reconcileAfterMs = reconcileDelayMs(0, this.config.reconcileBaseMs, this.config.reconcileMaxMs);
      const { refund: updated } = await this.outcomes.apply(m, refund, outcome, reconcileAfterMs);
      return this.idempotency.finish(m, key, refundCreatedResponse(updated));
    });
  }
}

function contextOf(refund: RefundRow, budgetMs: number): CallContext {
  return { mode: refund.mode, merchantId: refund.merchant_id, paymentId: refund.payment_id, refundId: refund.id, deadline: Date.now() + budgetMs };
}

function chargeIdOf(payment: RefundablePayment): string {
  if (!payment.provider_charge_id) throw new Error(`succeeded payment ${payment.id} has no provider charge id`);
  return payment.provider_charge_id;
}

/** Every field of a refund is immutable, so any difference tells a different request apart. */
function reusedKeyError(existing: RefundRow, paymentId: string, dto: CreateRefundDto): KeyReusedError {
  const fields = differingFields(
    // An absent amount meant "all that was left", which cannot be compared with the amount it came to.
    { payment: existing.payment_id, amount: dto.amount === undefined ? undefined : Number(existing.amount), reason: existing.reason, metadata: existing.metadata },
    { payment: paymentId, amount: dto.amount, reason: dto.reason ?? null, metadata: dto.metadata ?? {} },
  );
  return new KeyReusedError(`This Idempotency-Key already created refund ${existing.id} with a different request`, fields);
}
