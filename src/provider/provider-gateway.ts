import { Injectable } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import { BrokenCircuitError, BulkheadRejectedError, DelegateBackoff, handleWhen, retry, TimeoutStrategy, timeout, wrap } from 'cockatiel';
import type { AuthContext, Mode } from '../auth/auth-context.js';
import { AppConfig } from '../config/app-config.js';
import { Refusal } from '../errors/problem.js';
import { Tracing } from '../observability/tracing.js';
import { type ChargeRequest, PaymentProviders, type ProviderAnswer, type RefundRequest, TransientProviderError } from './payment-provider.js';
import { type AttemptRecord, ProviderAttemptsRepository } from './provider-attempts.repository.js';
import { type LaneState, ProviderLane } from './provider-lane.js';
import { providerAttemptDuration, providerAttemptsTotal, providerCallsTotal, providerRefusalsTotal, providerRetriesTotal } from './provider-metrics.js';
import { KillSwitch } from './kill-switch.js';

export type CallOutcome =
  | { kind: 'succeeded'; id: string }
  | { kind: 'failed'; id: string | null; failureCode: string; failureMessage: string }
  /** It may have executed: only asking the provider later can tell (the payment is `processing`). */
  | { kind: 'unknown'; reason: string };

export interface CallContext {
  mode: Mode;
  merchantId: string;
  paymentId: string;
  refundId?: string;
  /** Epoch milliseconds by which every attempt, and the waits between them, must be over. */
  deadline: number;
  /**
   * Where the attempts' records go when the caller stores them in its own next transaction (a
   * charge's outcome phase); otherwise each one is written as it ends.
   */
  attempts?: AttemptRecord[];
}

/** A slot in a lane's bulkhead, held by one new charge or refund from before it is stored until its call ends. */
export interface ProviderSlot {
  /** The lane's provider, as its attempts are recorded. */
  readonly provider: string;
  /** Throws a Refusal when the provider was certainly not reached (no connection, 429s, breaker). */
  charge(request: ChargeRequest, context: CallContext): Promise<CallOutcome>;
  refund(request: RefundRequest, context: CallContext): Promise<CallOutcome>;
}

type Operation = 'charge' | 'refund' | 'find_charge' | 'find_refund';
type Answer = ProviderAnswer | { kind: 'unknown'; reason: string };

/**
 * Every call to a provider goes through here, in the lane of its mode: the kill switch, a bulkhead
 * (bounded calls in flight and a bounded queue, a share per merchant), a circuit breaker, and at most
 * PROVIDER_MAX_RETRIES retries of transient failures with full-jitter backoff, Retry-After honoured,
 * all inside the call's deadline, each attempt with its own timeout and the same provider key. Each
 * attempt is a provider_attempts row.
 */
@Injectable()
export class ProviderGateway {
  private readonly lanes = new Map<Mode, ProviderLane>();

  constructor(
    providers: PaymentProviders,
    private readonly config: AppConfig,
    private readonly attempts: ProviderAttemptsRepository,
    private readonly settings: KillSwitch,
    private readonly tracing: Tracing,
  ) {
    for (const mode of ['test', 'live'] as const) {
      const provider = providers.forMode(mode);
      if (provider) this.lanes.set(mode, new ProviderLane(mode, provider, config));
    }
  }

  get budgetMs(): number {
    return this.config.providerBudgetMs;
  }

  /** Each configured lane's breaker and bulkhead, read from memory. */
  laneStates(): LaneState[] {
    return [...this.lanes.values()].map((lane) => ({ provider: lane.name, mode: lane.mode, breaker: lane.breakerState, inFlight: lane.inFlight, queued: lane.queued }));
  }

  /**
   * Takes what a new charge or refund needs before anything of it is stored — the mode's provider,
   * the kill switch, the breaker's permission, the merchant's share and a bulkhead slot — and runs
   * `work` holding the slot. What cannot go through is refused at once with a Refusal.
   */
  async reserve<T>(auth: AuthContext, work: (slot: ProviderSlot) => Promise<T>): Promise<T> {
    const lane = this.lanes.get(auth.mode);
    if (!lane) {
      // Retrying cannot help until an operator configures the live provider, which is what Retry-After says.
      throw new Refusal('live-mode-not-configured', 'Live mode has no payment provider configured on this server; nothing was charged. Use a test key, or ask the operator to set PROVIDER_URL.', undefined, { 'retry-after': '3600' });
    }
    if (!(await this.settings.isEnabled(lane.name))) {
      throw this.refused(lane, 'disabled', new Refusal('provider-disabled', `Payments through ${lane.name} are switched off for now; nothing was charged.`, undefined, { 'retry-after': '60' }));
    }
    if (!lane.breakerAdmits) throw this.refused(lane, 'breaker-open', this.unavailable(lane));
    const release = lane.admitMerchant(auth.merchantId);
    if (!release) {
      throw this.refused(
        lane,
        'merchant-share',
        new Refusal('provider-overloaded', 'This account already has its share of calls to the payment provider in flight; nothing was charged. Retry shortly.', undefined, { 'retry-after': '1' }),
      );
    }
    const slot: ProviderSlot = {
      provider: lane.name,
      charge: (request, context) => this.chargeIn(lane, request, context),
      refund: (request, context) => this.refundIn(lane, request, context),
    };
    try {
      return await this.inBulkhead(lane, () => work(slot));
    } finally {
      release();
    }
  }

  /** The reconciler's charge of a payment the provider never executed: under the kill switch too, as the payment was acknowledged. */
  charge(request: ChargeRequest, context: CallContext): Promise<CallOutcome> {
    const lane = this.laneOf(context);
    return this.inBulkhead(lane, () => this.chargeIn(lane, request, context));
  }

  refund(request: RefundRequest, context: CallContext): Promise<CallOutcome> {
    const lane = this.laneOf(context);
    return this.inBulkhead(lane, () => this.refundIn(lane, request, context));
  }

  /**
   * How the charge with this key ended: not_found means it never executed. Never refuses — a lookup
   * that cannot be made is an unknown outcome — and goes on with the kill switch on.
   */
  findCharge(providerKey: string, context: CallContext): Promise<CallOutcome | { kind: 'not_found' }> {
    return this.lookup('find_charge', providerKey, context);
  }

  findRefund(providerKey: string, context: CallContext): Promise<CallOutcome | { kind: 'not_found' }> {
    return this.lookup('find_refund', providerKey, context);
  }

  private async lookup(operation: 'find_charge' | 'find_refund', providerKey: string, context: CallContext): Promise<CallOutcome | { kind: 'not_found' }> {
    const lane = this.lanes.get(context.mode);
    if (!lane) return { kind: 'unknown', reason: `no provider is configured for ${context.mode} mode` };
    const find = operation === 'find_charge' ? lane.provider.findCharge.bind(lane.provider) : lane.provider.findRefund.bind(lane.provider);
    let answer: CallOutcome | { kind: 'not_found' };
    try {
      answer = found(await this.inBulkhead(lane, () => this.attempt(lane, operation, providerKey, context, (signal) => find(providerKey, signal))));
    } catch (error) {
      if (error instanceof Refusal) return { kind: 'unknown', reason: error.code };
      throw error;
    }
    if (answer.kind !== 'unknown') await this.attempts.settleSent(context.merchantId, context.paymentId, providerKey, answer.kind);
    return answer;
  }

  private chargeIn(lane: ProviderLane, request: ChargeRequest, context: CallContext): Promise<CallOutcome> {
    return this.attempt(lane, 'charge', request.providerKey, context, (signal) => lane.provider.charge(request, signal)).then(settled);
  }

  private refundIn(lane: ProviderLane, request: RefundRequest, context: CallContext): Promise<CallOutcome> {
    return this.attempt(lane, 'refund', request.providerKey, context, (signal) => lane.provider.refund(request, signal)).then(settled);
  }

  private laneOf(context: CallContext): ProviderLane {
    const lane = this.lanes.get(context.mode);
    if (!lane) throw new Refusal('live-mode-not-configured', `No payment provider is configured for ${context.mode} mode.`, undefined, { 'retry-after': '3600' });
    return lane;
  }

  /**
   * A full bulkhead (slots and queue) is a Refusal: nothing was sent. A queued call starts when
   * another ends, in that one's context: it is bound to its own request's trace.
   */
  private async inBulkhead<T>(lane: ProviderLane, work: () => Promise<T>): Promise<T> {
    try {
      return await lane.bulkhead.execute(context.bind(context.active(), work));
    } catch (error) {
      if (error instanceof BulkheadRejectedError) throw this.refused(lane, 'bulkhead-full', overloaded());
      throw error;
    }
  }

  /** The attempts of one call, through the lane's breaker, with retries inside the deadline. */
  private async attempt(lane: ProviderLane, operation: Operation, providerKey: string, context: CallContext, call: (signal: AbortSignal) => Promise<ProviderAnswer>): Promise<Answer> {
    let attempt = 0;
    let mayHaveExecuted = false;
    let nextDelayMs = 0;
    let waitedMs = 0;
    const remaining = () => context.deadline - Date.now();

    // Per call, because the decision to retry depends on this call's deadline.
    const retries = retry(
      handleWhen((error) => {
        if (!(error instanceof TransientProviderError)) return false;
        const jitter = Math.random() * Math.min(this.config.providerRetryMaxMs, this.config.providerRetryBaseMs * 2 ** (attempt - 1));
        nextDelayMs = Math.max(jitter, error.retryAfterMs ?? 0);
        // A retry that could not finish its wait and a useful attempt before the deadline is not made.
        return nextDelayMs + Math.min(100, this.config.providerTimeoutMs) < remaining();
      }),
      { maxAttempts: this.config.providerMaxRetries, backoff: new DelegateBackoff(() => nextDelayMs) },
    );

    try {
      const answer = await wrap(retries, lane.breaker).execute(async () => {
        attempt++;
        waitedMs = attempt === 1 ? 0 : nextDelayMs;
        const started = performance.now();
        // Each attempt gets the attempt timeout, or what is left of the call's budget if less.
        const attemptTimeout = timeout(Math.max(1, Math.min(this.config.providerTimeoutMs, remaining())), TimeoutStrategy.Cooperative);
        let answer: ProviderAnswer;
        try {
          // A span per attempt: its traceparent is the one the provider receives.
          answer = await this.tracing.inSpan('provider.attempt', () => attemptTimeout.execute(({ signal }) => call(signal)), {
            'idempay.provider': lane.name,
            'idempay.operation': operation,
            'idempay.attempt': attempt,
          });
        } catch (error) {
          // Anything else is a bug, not a provider failure: it is neither retried nor hidden.
          if (!(error instanceof TransientProviderError)) throw error;
          mayHaveExecuted ||= error.mayHaveExecuted;
          await this.record(lane, operation, providerKey, context, { attempt, waitedMs }, 'transient', error.httpStatus, error.message, started);
          throw error;
        }
        await this.record(lane, operation, providerKey, context, { attempt, waitedMs }, answer.kind, null, null, started);
        return answer;
      });
      providerCallsTotal.inc({ provider: lane.name, operation, outcome: answer.kind });
      return answer;
    } catch (error) {
      if (!(error instanceof TransientProviderError) && !(error instanceof BrokenCircuitError)) throw error;
      providerCallsTotal.inc({ provider: lane.name, operation, outcome: mayHaveExecuted ? 'unknown' : 'unavailable' });
      // Nothing can have reached the provider (no connection, a 429, or the breaker refused): safe to refuse.
      if (!mayHaveExecuted) throw this.unavailable(lane);
      return { kind: 'unknown', reason: error instanceof TransientProviderError ? error.message : 'circuit opened' };
    }
  }

  /** A call refused before anything was sent, counted by why. */
  private refused(lane: ProviderLane, reason: 'disabled' | 'breaker-open' | 'merchant-share' | 'bulkhead-full', refusal: Refusal): Refusal {
    providerRefusalsTotal.inc({ provider: lane.name, reason });
    return refusal;
  }

  private unavailable(lane: ProviderLane): Refusal {
    return new Refusal('provider-unavailable', `The payment provider ${lane.name} is not answering; nothing was charged. Retry later with the same Idempotency-Key.`, undefined, {
      'retry-after': String(Math.ceil(this.config.breakerHalfOpenAfterMs / 1000)),
    });
  }

  private async record(
    lane: ProviderLane,
    operation: Operation,
    providerKey: string,
    context: CallContext,
    { attempt, waitedMs }: { attempt: number; waitedMs: number },
    outcome: 'succeeded' | 'failed' | 'not_found' | 'rejected' | 'transient',
    httpStatus: number | null,
    error: string | null,
    started: number,
  ): Promise<void> {
    const latencyMs = performance.now() - started;
    providerAttemptsTotal.inc({ provider: lane.name, operation, outcome });
    providerAttemptDuration.observe({ provider: lane.name, operation, outcome }, latencyMs / 1000);
    if (attempt > 1) providerRetriesTotal.inc({ provider: lane.name, operation });
    const record: AttemptRecord = {
      merchantId: context.merchantId,
      paymentId: context.paymentId,
      refundId: context.refundId ?? null,
      provider: lane.name,
      operation,
      providerKey,
      attempt,
      waitedMs: Math.round(waitedMs),
      outcome,
      httpStatus,
      error,
      latencyMs: Math.round(latencyMs),
    };
    if (context.attempts) context.attempts.push(record);
    else await this.attempts.insert(record);
  }
}

function overloaded(): Refusal {
  return new Refusal('provider-overloaded', 'Too many calls to the payment provider are in flight; nothing was charged. Retry shortly.', undefined, { 'retry-after': '1' });
}

/** A charge or refund: a refusal by the provider is a failure of it, with the provider's code. */
function settled(answer: Answer): CallOutcome {
  switch (answer.kind) {
    case 'rejected':
      return { kind: 'failed', id: null, failureCode: answer.code, failureMessage: `The provider refused the request (HTTP ${answer.httpStatus}).` };
    case 'not_found':
      return { kind: 'unknown', reason: 'the provider answered not found' };
    default:
      return answer;
  }
}

/** A lookup: a refusal tells nothing about the outcome. */
function found(answer: Answer): CallOutcome | { kind: 'not_found' } {
  return answer.kind === 'rejected' ? { kind: 'unknown', reason: `lookup refused (HTTP ${answer.httpStatus})` } : answer;
}
