import { Events } from './events.js';
import { Payments } from './payments.js';
import { Transport } from './transport.js';
import type { IdempayOptions } from './types.js';
import { WebhookEndpoints } from './webhook-endpoints.js';

export class Idempay {
  readonly payments: Payments;
  readonly events: Events;
  readonly webhookEndpoints: WebhookEndpoints;

  constructor(options: IdempayOptions) {
    const transport = new Transport(options);
    this.payments = new Payments(transport);
    this.events = new Events(transport);
    this.webhookEndpoints = new WebhookEndpoints(transport);
  }
}
