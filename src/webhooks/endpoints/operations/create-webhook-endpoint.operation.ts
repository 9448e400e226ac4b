import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../../auth/auth-context.js';
import { newId } from '../../../common/ids.js';
import { ProblemError } from '../../../errors/problem.js';
import type { ClaimedKey } from '../../../idempotency/claimed-key.js';
import { IdempotencyService } from '../../../idempotency/idempotency.service.js';
import { jsonResponse, type StoredResponse } from '../../../idempotency/stored-response.js';
import { SsrfGuard } from '../../outbound/ssrf-guard.js';
import { CreateWebhookEndpointDto } from '../dto/create-webhook-endpoint.dto.js';
import { checkEndpointUrl } from '../safe-url.js';
import { MAX_ENDPOINTS_PER_MODE, newSigningSecret, withSecret } from '../webhook-endpoint.js';
import { WebhookEndpointsRepository } from '../webhook-endpoints.repository.js';

/**
 * POST /v1/webhook_endpoints: the URL is checked first, then one phase stores the endpoint, its
 * secret and the answer together. The answer is the only place the secret is shown, so it is also
 * what a retry with the key replays.
 */
@Injectable()
export class CreateWebhookEndpointOperation {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly guard: SsrfGuard,
  ) {}

  async run(auth: AuthContext, dto: CreateWebhookEndpointDto, key: ClaimedKey): Promise<StoredResponse> {
    await checkEndpointUrl(this.guard, dto.url);
    return this.idempotency.phase(key, async (m) => {
      await this.endpoints.lockCreations(m, auth);
      if ((await this.endpoints.count(m, auth)) >= MAX_ENDPOINTS_PER_MODE) {
        throw new ProblemError(
          'webhook-endpoint-limit-reached',
          `A merchant may have at most ${MAX_ENDPOINTS_PER_MODE} webhook endpoints in ${auth.mode} mode; delete one first.`,
        );
      }
      const secret = newSigningSecret();
      const endpoint = await this.endpoints.insert(m, auth, {
        id: newId('we'),
        url: dto.url,
        description: dto.description ?? null,
        enabledEvents: dto.enabled_events,
        secret,
      });
      return this.idempotency.finish(m, key, jsonResponse(201, withSecret(endpoint, secret), { location: `/v1/webhook_endpoints/${endpoint.id}` }));
    });
  }
}
