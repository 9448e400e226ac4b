import type { AppConfig } from '../config/app-config.js';

export interface ReconcileTiming {
  /** A run leases no new payment or refund after this (it always takes at least one of each). */
  runWindowMs: number;
  /** pg-boss fails a run still active after this; every run ends before it. */
  expireInSeconds: number;
  /** How often pg-boss looks for expired runs (its monitor pass), across all instances. */
  expiryCheckSeconds: number;
  /** How often each instance asks for a queued run. */
  pollingIntervalSeconds: number;
  /**
   * The longest a due payment or refund can wait for a run after the instance running the job
   * died: the dead run's expiry, up to two expiry checks (each instance checks on its own clock,
   * only one check per interval counts), then one poll.
   */
  takeoverMs: number;
}

/** Room for the database work of a run, on top of its provider calls. */
const DATABASE_ALLOWANCE_MS = 1_000;

/**
 * The reconcile queue allows one active run, so a run whose instance died blocks every other
 * instance until pg-boss expires it: the expiry is what bounds the stall, and it can be short only
 * because a run is bounded too. A run leases rows for one provider budget, then finishes the payment
 * in flight (a lookup and a charge, each with its own budget) and at least one refund (both calls
 * in one budget): 4 × PROVIDER_BUDGET_MS at most, plus its database work. If a run overruns all the
 * same, pg-boss lets another start beside it; the per-row leases keep that from reconciling a row twice.
 */
export function reconcileTiming(config: Pick<AppConfig, 'providerBudgetMs' | 'reconcileBaseMs'>): ReconcileTiming {
  const runWindowMs = config.providerBudgetMs;
  const expireInSeconds = Math.ceil((runWindowMs + 3 * config.providerBudgetMs + DATABASE_ALLOWANCE_MS) / 1000);
  const expiryCheckSeconds = Math.max(1, Math.ceil(config.reconcileBaseMs / 1000));
  const pollingIntervalSeconds = Math.max(0.5, config.reconcileBaseMs / 1000);
  const takeoverMs = (expireInSeconds + 2 * expiryCheckSeconds + pollingIntervalSeconds) * 1000;
  return { runWindowMs, expireInSeconds, expiryCheckSeconds, pollingIntervalSeconds, takeoverMs };
}
