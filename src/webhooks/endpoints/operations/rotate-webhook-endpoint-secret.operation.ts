import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../../auth/auth-context.js';
import { AppConfig } from '../../../config/app-config.js';
import { ProblemError } from '../../../errors/problem.js';
import type { ClaimedKey } from '../../../idempotency/claimed-key.js';
import { IdempotencyService } from '../../../idempotency/idempotency.service.js';
import { jsonResponse, type StoredResponse } from '../../../idempotency/stored-response.js';
import { newSigningSecret, withSecret } from '../webhook-endpoint.js';
import { WebhookEndpointsRepository } from '../webhook-endpoints.repository.js';

/**
 * POST /v1/webhook_endpoints/{id}/rotate_secret: one phase, under the endpoint's row lock, stores the
 * new secret, starts the old one's grace period and stores the answer. A retry with the key replays
 * that answer, so it shows the same secret and makes no other.
 */
@Injectable()
export class RotateWebhookEndpointSecretOperation {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly config: AppConfig,
  ) {}

  run(auth: AuthContext, id: string, key: ClaimedKey): Promise<StoredResponse> {
    return this.idempotency.phase(key, async (m) => {
      const endpoint = await this.endpoints.findById(auth, id, m, true);
      if (!endpoint) throw new ProblemError('resource-not-found', `No webhook endpoint ${id}.`);
      const secret = newSigningSecret();
      const rotated = await this.endpoints.rotateSecret(m, endpoint, secret, this.config.webhookSecretGraceMs);
      return this.idempotency.finish(m, key, jsonResponse(200, withSecret(rotated, secret)));
    });
  }
}
