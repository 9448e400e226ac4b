import { Injectable } from '@nestjs/common';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  type BulkheadPolicy,
  CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  DelegateBackoff,
  handleWhen,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { AppConfig } from '../config/app-config.js';
import { ProblemError } from '../errors/problem.js';
import { EitherBreaker } from './either-breaker.js';
import { type ChargeRequest, PaymentProvider, type ProviderAnswer, type RefundRequest, TransientProviderError } from './payment-provider.js';
import { ProviderAttemptsRepository } from './provider-attempts.repository.js';
import { providerAttemptsTotal } from './provider-metrics.js';
import { ProviderSettingsRepository } from './provider-settings.repository.js';

export type CallOutcome =
  | { kind: 'succeeded'; id: string }
  | { kind: 'failed'; id: string | null; failureCode: string; failureMessage: string }
  /** It may have executed: only asking the provider later can tell (the payment is `processing`). */
  | { kind: 'unknown'; reason: string };

export interface CallContext {
  merchantId: string;
  paymentId: string;
  refundId?: string;
  /** Epoch milliseconds by which every attempt, and the waits between them, must be over. */
  deadline: number;
}

type Operation = 'charge' | 'refund' | 'find_charge' | 'find_refund';

/**
 * Every call to the provider goes through here: the kill switch, a bulkhead (bounded calls in flight
 * and a bounded queue), a circuit breaker, and at most PROVIDER_MAX_RETRIES retries of transient
 * failures with full-jitter backoff, Retry-After honoured, all inside the call's deadline, each
 * attempt with its own timeout and the same provider key. Each attempt is a provider_attempts row.
 */
@Injectable()
export class ProviderGateway {
  readonly breaker: CircuitBreakerPolicy;
  private readonly bulkhead: BulkheadPolicy;
  private openedAt = 0;

  constructor(
    private readonly provider: PaymentProvider,
    private readonly config: AppConfig,
    private readonly attempts: ProviderAttemptsRepository,
    private readonly settings: ProviderSettingsRepository,
  ) {
    this.breaker = circuitBreaker(handleWhen((error) => error instanceof TransientProviderError), {
      halfOpenAfter: config.breakerHalfOpenAfterMs,
      breaker: new EitherBreaker({
        consecutiveFailures: config.breakerConsecutiveFailures,
        failureRatio: config.breakerFailureRatio,
        windowSize: config.breakerWindowSize,
        minimumCalls: config.breakerMinimumCalls,
      }),
    });
    // The breaker moves to half-open lazily, on the next call; the time it opened tells when that call may go.
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.bulkhead = bulkhead(config.bulkheadLimit, config.bulkheadQueue);
  }

  get name(): string {
    return this.provider.name;
  }

  get budgetMs(): number {
    return this.config.providerBudgetMs;
  }

  /** Before anything is stored for a new payment or refund: refuse at once what cannot go through. */
  async assertAvailable(): Promise<void> {
    if (!(await this.settings.isEnabled(this.provider.name))) {
      throw new ProblemError('provider-disabled', `Payments through ${this.provider.name} are switched off for now.`, undefined, { 'retry-after': '60' });
    }
    const state = this.breaker.state;
    const probeDue = state === CircuitState.Open && Date.now() - this.openedAt >= this.config.breakerHalfOpenAfterMs;
    if ((state === CircuitState.Open && !probeDue) || state === CircuitState.Isolated) throw this.unavailable();
  }

  charge(request: ChargeRequest, context: CallContext): Promise<CallOutcome> {
    return this.execute('charge', request.providerKey, context, (signal) => this.provider.charge(request, signal)).then(settled);
  }

  refund(request: RefundRequest, context: CallContext): Promise<CallOutcome> {
    return this.execute('refund', request.providerKey, context, (signal) => this.provider.refund(request, signal)).then(settled);
  }

  /** For reconciliation, which goes on with the kill switch on: not_found means it never executed. */
  findCharge(providerKey: string, context: CallContext): Promise<CallOutcome | { kind: 'not_found' }> {
    return this.execute('find_charge', providerKey, context, (signal) => this.provider.findCharge(providerKey, signal)).then(found);
  }

  findRefund(providerKey: string, context: CallContext): Promise<CallOutcome | { kind: 'not_found' }> {
    return this.execute('find_refund', providerKey, context, (signal) => this.provider.findRefund(providerKey, signal)).then(found);
  }

  private async execute(
    operation: Operation,
    providerKey: string,
    context: CallContext,
    call: (signal: AbortSignal) => Promise<ProviderAnswer>,
  ): Promise<ProviderAnswer | { kind: 'unknown'; reason: string }> {
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
      return await this.bulkhead.execute(() =>
        wrap(retries, this.breaker).execute(async () => {
          attempt++;
          waitedMs = attempt === 1 ? 0 : nextDelayMs;
          const started = performance.now();
          // Each attempt gets the attempt timeout, or what is left of the call's budget if less.
          const attemptTimeout = timeout(Math.max(1, Math.min(this.config.providerTimeoutMs, remaining())), TimeoutStrategy.Cooperative);
          let answer: ProviderAnswer;
          try {
            answer = await attemptTimeout.execute(({ signal }) => call(signal));
          } catch (error) {
            // Anything else is a bug, not a provider failure: it is neither retried nor hidden.
            if (!(error instanceof TransientProviderError)) throw error;
            mayHaveExecuted ||= error.mayHaveExecuted;
            await this.record(operation, providerKey, context, { attempt, waitedMs }, 'transient', error.httpStatus, error.message, started);
            throw error;
          }
          await this.record(operation, providerKey, context, { attempt, waitedMs }, answer.kind, null, null, started);
          return answer;
        }),
      );
    } catch (error) {
      if (error instanceof BulkheadRejectedError) {
        throw new ProblemError('provider-overloaded', 'Too many calls to the payment provider are in flight; retry shortly.', undefined, { 'retry-after': '1' });
      }
      if (!(error instanceof TransientProviderError) && !(error instanceof BrokenCircuitError)) throw error;
      // Nothing can have reached the provider (no connection, a 429, or the breaker refused): safe to refuse.
      if (!mayHaveExecuted) throw this.unavailable();
      return { kind: 'unknown', reason: error instanceof TransientProviderError ? error.message : 'circuit opened' };
    }
  }

  private unavailable(): ProblemError {
    return new ProblemError('provider-unavailable', `The payment provider ${this.provider.name} is not answering; nothing was charged. Retry later with the same Idempotency-Key.`, undefined, {
      'retry-after': String(Math.ceil(this.config.breakerHalfOpenAfterMs / 1000)),
    });
  }

  private async record(
    operation: Operation,
    providerKey: string,
    context: CallContext,
    { attempt, waitedMs }: { attempt: number; waitedMs: number },
    outcome: 'succeeded' | 'failed' | 'not_found' | 'rejected' | 'transient',
    httpStatus: number | null,
    error: string | null,
    started: number,
  ): Promise<void> {
    providerAttemptsTotal.inc({ provider: this.provider.name, operation, outcome });
    await this.attempts.insert({
      merchantId: context.merchantId,
      paymentId: context.paymentId,
      refundId: context.refundId ?? null,
      provider: this.provider.name,
      operation,
      providerKey,
      attempt,
      waitedMs: Math.round(waitedMs),
      outcome,
      httpStatus,
      error,
      latencyMs: Math.round(performance.now() - started),
    });
  }
}

/** A charge or refund: a refusal by the provider is a failure of it, with the provider's code. */
function settled(answer: ProviderAnswer | { kind: 'unknown'; reason: string }): CallOutcome {
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
function found(answer: ProviderAnswer | { kind: 'unknown'; reason: string }): CallOutcome | { kind: 'not_found' } {
  return answer.kind === 'rejected' ? { kind: 'unknown', reason: `lookup refused (HTTP ${answer.httpStatus})` } : answer;
}
