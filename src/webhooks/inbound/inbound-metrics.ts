import { Counter, register } from 'prom-client';

/** Provider webhooks refused before anything was stored, by reason (a catalogue code); exposed when the metrics endpoint lands. */
export const providerWebhooksRefusedTotal =
  (register.getSingleMetric('idempay_provider_webhooks_refused_total') as Counter<'provider' | 'reason'> | undefined) ??
  new Counter({
    name: 'idempay_provider_webhooks_refused_total',
    help: 'Provider webhooks refused (nothing stored), by provider and reason',
    labelNames: ['provider', 'reason'] as const,
  });
