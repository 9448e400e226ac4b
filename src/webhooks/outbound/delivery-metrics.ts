import { Counter } from 'prom-client';
import { registeredMetric } from '../../common/registered-metric.js';

/** Each recorded delivery attempt by what it led to: `delivered`, `retrying` (another attempt is scheduled) or `dead`. */
export const webhookDeliveryAttemptsTotal = registeredMetric(
  'idempay_webhook_delivery_attempts_total',
  (name) =>
    new Counter({
      name,
      help: 'Webhook delivery attempts to merchant endpoints, by outcome (delivered, retrying, dead)',
      labelNames: ['outcome'] as const,
    }),
);
