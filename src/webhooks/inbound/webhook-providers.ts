import { Injectable } from '@nestjs/common';
import type { Mode } from '../../auth/auth-context.js';
import { AppConfig } from '../../config/app-config.js';
import { signingKeyOf } from '../webhook-signature.js';

/** A provider we take webhooks from: the mode its events are about, and the keys its signatures may use. */
export interface WebhookProvider {
  name: string;
  mode: Mode;
  keys: Buffer[];
}

/**
 * The providers named in `/provider-webhooks/{provider}`: `sandbox` for test mode and the live
 * provider under its configured name, each only when it has a secret. Secrets are decoded once, at
 * boot, where a malformed one stops the process.
 */
@Injectable()
export class WebhookProviders {
  private readonly byName = new Map<string, WebhookProvider>();

  constructor(config: AppConfig) {
    const sources: [string, Mode, string[], string][] = [
      ['sandbox', 'test', config.sandboxWebhookSecrets, 'SANDBOX_WEBHOOK_SECRET'],
      [config.providerName, 'live', config.providerWebhookSecrets, 'PROVIDER_WEBHOOK_SECRET'],
    ];
    for (const [name, mode, secrets, source] of sources) {
      if (secrets.length > 0) this.byName.set(name, { name, mode, keys: secrets.map((secret) => signingKeyOf(secret, source)) });
    }
  }

  find(name: string): WebhookProvider | undefined {
    return this.byName.get(name);
  }
}
