import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../../auth/auth-context.js';
import { ProblemError } from '../../../errors/problem.js';
import type { ClaimedKey } from '../../../idempotency/claimed-key.js';
import { IdempotencyService } from '../../../idempotency/idempotency.service.js';
import { jsonResponse, type StoredResponse } from '../../../idempotency/stored-response.js';
import { SsrfGuard } from '../../outbound/ssrf-guard.js';
import { UpdateWebhookEndpointDto } from '../dto/update-webhook-endpoint.dto.js';
import { checkEndpointUrl } from '../safe-url.js';
import { toWebhookEndpointResource } from '../webhook-endpoint.js';
import { WebhookEndpointsRepository } from '../webhook-endpoints.repository.js';

/** PATCH /v1/webhook_endpoints/{id}: a new URL is checked like at creation, then one phase changes the endpoint and stores the answer. */
@Injectable()
export class UpdateWebhookEndpointOperation {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly guard: SsrfGuard,
  ) {}

  async run(auth: AuthContext, id: string, dto: UpdateWebhookEndpointDto, key: ClaimedKey): Promise<StoredResponse> {
    if (dto.url !== undefined) await checkEndpointUrl(this.guard, dto.url);
    return this.idempotency.phase(key, async (m) => {
      const endpoint = await this.endpoints.findById(auth, id, m, true);
      // Another merchant's endpoint, or one of the other mode, is as unknown as a missing one.
      if (!endpoint) throw new ProblemError('resource-not-found', `No webhook endpoint ${id}.`);
      const updated = await this.endpoints.update(m, endpoint.id, {
        url: dto.url,
        enabledEvents: dto.enabled_events,
        description: dto.description,
        disabled: dto.disabled,
      });
      return this.idempotency.finish(m, key, jsonResponse(200, toWebhookEndpointResource(updated)));
    });
  }
}
