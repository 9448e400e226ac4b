import { Counter, Histogram } from 'prom-client';
import { registeredMetric } from '../common/registered-metric.js';

/** Every outbound attempt, by outcome (`transient` for a timeout, reset, connect error, 5xx or 429). */
export const providerAttemptsTotal = registeredMetric(
  'idempay_provider_attempts_total',
  (name) =>
    new Counter({
      name,
      help: 'Outbound provider attempts, retries included, by outcome',
      labelNames: ['provider', 'operation', 'outcome'] as const,
    }),
);

export const providerRetriesTotal = registeredMetric(
  'idempay_provider_retries_total',
  (name) =>
    new Counter({
      name,
      help: 'Provider attempts that were retries of a transient failure (the 2nd and later attempts of a call)',
      labelNames: ['provider', 'operation'] as const,
    }),
);

/**
 * Each call's outcome after its retries: what the provider said (succeeded, failed, not_found,
 * rejected), `unknown` (it may have executed: the payment waits for the reconciler) or `unavailable`
 * (nothing reached the provider).
 */
export const providerCallsTotal = registeredMetric(
  'idempay_provider_calls_total',
  (name) =>
    new Counter({
      name,
      help: 'Provider calls by final outcome, after retries',
      labelNames: ['provider', 'operation', 'outcome'] as const,
    }),
);

export const providerAttemptDuration = registeredMetric(
  'idempay_provider_attempt_duration_seconds',
  (name) =>
    new Histogram({
      name,
      help: 'Latency of one provider attempt, by outcome',
      labelNames: ['provider', 'operation', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
);

/** Calls refused before anything was sent: the kill switch, an open breaker, the merchant's share, a full bulkhead. */
export const providerRefusalsTotal = registeredMetric(
  'idempay_provider_refusals_total',
  (name) =>
    new Counter({
      name,
      help: 'Provider calls refused before anything was sent, by reason',
      labelNames: ['provider', 'reason'] as const,
    }),
);
