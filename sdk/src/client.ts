import { Events } from './events.js';
import { Payments } from './payments.js';
import { Refunds } from './refunds.js';
import { Transport } from './transport.js';
import type { IdempayOptions } from './types.js';
import { WebhookEndpoints } from './webhook-endpoints.js';

export class Idempay {
  readonly payments: Payments;
  readonly refunds: Refunds;
  readonly events: Events;
  readonly webhookEndpoints: WebhookEndpoints;

  constructor(options: IdempayOptions) {
    const transport = new Transport(options);
    this.payments = new Payments(transport);
    this.refunds = new Refunds(transport);
    this.events = new Events(transport);
    this.webhookEndpoints = new WebhookEndpoints(transport);
  }
}
