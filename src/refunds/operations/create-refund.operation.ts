import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context.js';
import { newId } from '../../common/ids.js';
import { reconcileDelayMs } from '../../common/reconcile-backoff.js';
import { AppConfig } from '../../config/app-config.js';
import { ProblemError } from '../../errors/problem.js';
import { CrashPoints } from '../../faults/crash-points.js';
import { type ClaimedKey, STARTED } from '../../idempotency/claimed-key.js';
import { differingFields } from '../../idempotency/fingerprint.js';
import { IdempotencyService, KeyReusedError } from '../../idempotency/idempotency.service.js';
import { IdempotentOperations } from '../../idempotency/idempotent-operations.js';
import type { StoredResponse } from '../../idempotency/stored-response.js';
import { validateDto } from '../../http/validate-dto.js';
import { type CallOutcome, ProviderGateway } from '../../provider/provider-gateway.js';
import { CreateRefundDto } from '../dto/create-refund.dto.js';
import {refundCreatedResponse, refundKeyOf, type RefundRow} from '../refund.js';
import { RefundOutcomes } from '../refund-outcomes.js';
import { type RefundablePayment, RefundsRepository } from '../refunds.repository.js';

const REFUND_CREATED = 'refund_created';
const ROUTE = 'POST /v1/payments/:id/refunds';

/**
 * POST /v1/payments/{id}/refunds as atomic phases, like a payment's create: the refund and its
 * reservation on the payment are committed before the provider is called, with no connection held
 * during the call, and a retry, a lease takeover or the completer resumes from the key's recovery point.
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
    this.operations.register(ROUTE, (key) =>
      this.run(key.auth, key.request.pathParams.id, validateDto(CreateRefundDto, key.request.body), key),
    );
  }

  async run(auth: AuthContext, paymentId: string, dto: CreateRefundDto, key: ClaimedKey): Promise<StoredResponse> {
    let refund: RefundRow;
    let chargeId: string;
    if (key.recoveryPoint === STARTED) {
      await this.gateway.assertAvailable();
      const created = await this.createRefund(auth, paymentId, dto, key);
      if ('answer' in created) return created.answer;
      ({ refund, chargeId } = created);
    } else {
      const found = key.resourceId ? await this.refunds.findById(auth, paymentId, key.resourceId) : undefined;
      const payment = await this.refunds.findPayment(auth, paymentId);
      if (!found || !payment) throw new Error(`key ${key.id} is at ${key.recoveryPoint} but its refund is missing`);
      refund = found;
      chargeId = chargeIdOf(payment);
    }

    const outcome = await this.gateway.refund(
      { providerKey: refund.provider_key, chargeId, amount: Number(refund.amount), currency: refund.currency, reference: refund.id },
      { merchantId: auth.merchantId, paymentId: refund.payment_id, refundId: refund.id, deadline: Date.now() + this.gateway.budgetMs },
    );
    this.crashPoints.reached('provider_called');
    return this.finish(key, refund, outcome);
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
