import { Counter, register } from 'prom-client';

/** Every outbound attempt, by outcome; exposed when the metrics endpoint lands. */
export const providerAttemptsTotal =
  (register.getSingleMetric('idempay_provider_attempts_total') as Counter<'provider' | 'operation' | 'outcome'> | undefined) ??
  new Counter({
    name: 'idempay_provider_attempts_total',
    help: 'Outbound provider attempts, retries included, by outcome',
    labelNames: ['provider', 'operation', 'outcome'] as const,
  });
