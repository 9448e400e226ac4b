import { Payments } from './payments.js';
import { Transport } from './transport.js';
import type { IdempayOptions } from './types.js';

export class Idempay {
  readonly payments: Payments;

  constructor(options: IdempayOptions) {
    this.payments = new Payments(new Transport(options));
  }
}
