import { bulkhead, type BulkheadPolicy, CircuitBreakerPolicy, CircuitState, circuitBreaker, handleWhen } from 'cockatiel';
import type { Mode } from '../auth/auth-context.js';
import type { AppConfig } from '../config/app-config.js';
import { EitherBreaker } from './either-breaker.js';
import { type PaymentProvider, TransientProviderError } from './payment-provider.js';

/** A breaker as an operator reads it: `half-open` once the next call would be let through as a probe. */
export type BreakerState = 'closed' | 'half-open' | 'open';

/** A lane as operators see it (metrics, the console): its breaker and how full its bulkhead is. */
export interface LaneState {
  mode: Mode;
  provider: string;
  breaker: BreakerState;
  inFlight: number;
  queued: number;
}

/**
 * One provider in one mode, with a breaker and a bulkhead of its own: a failing or slow sandbox can
 * never refuse a live payment. Inside the bulkhead no merchant may hold more than its share, so one
 * merchant's burst cannot lock the others out.
 */
export class ProviderLane {
  readonly breaker: CircuitBreakerPolicy;
  readonly bulkhead: BulkheadPolicy;
  private openedAt = 0;
  private readonly held = new Map<string, number>();
  private readonly merchantCap: number;

  constructor(
    readonly mode: Mode,
    readonly provider: PaymentProvider,
    private readonly config: AppConfig,
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
    // Over the whole bulkhead, slots and queue: at its cap a merchant cannot add a call, so the others'
    // queued calls take the next slots that free. A share of 1 lifts the limit.
    this.merchantCap = Math.max(1, Math.floor((config.bulkheadLimit + config.bulkheadQueue) * config.bulkheadMerchantShare));
  }

  get name(): string {
    return this.provider.name;
  }

  /** Whether the breaker would let a call through now (closed, or open long enough for its probe). */
  get breakerAdmits(): boolean {
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return true;
    return state === CircuitState.Open && Date.now() - this.openedAt >= this.config.breakerHalfOpenAfterMs;
  }

  get breakerState(): BreakerState {
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return 'closed';
    if (state === CircuitState.HalfOpen || this.breakerAdmits) return 'half-open';
    return 'open';
  }

  /** Calls holding a slot of the bulkhead now. */
  get inFlight(): number {
    return this.config.bulkheadLimit - this.bulkhead.executionSlots;
  }

  /** Calls waiting in the bulkhead's queue for a slot. */
  get queued(): number {
    return this.config.bulkheadQueue - this.bulkhead.queueSlots;
  }

  /** Counts one more call of the merchant in the bulkhead; undefined when it already holds its share. */
  admitMerchant(merchantId: string): (() => void) | undefined {
    const held = this.held.get(merchantId) ?? 0;
    if (held >= this.merchantCap) return undefined;
    this.held.set(merchantId, held + 1);
    return () => {
      const left = (this.held.get(merchantId) ?? 1) - 1;
      if (left === 0) this.held.delete(merchantId);
      else this.held.set(merchantId, left);
    };
  }
}
