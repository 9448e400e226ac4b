import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { SsrfGuardModule } from '../outbound/ssrf-guard.module.js';
import { CreateWebhookEndpointOperation } from './operations/create-webhook-endpoint.operation.js';
import { RotateWebhookEndpointSecretOperation } from './operations/rotate-webhook-endpoint-secret.operation.js';
import { UpdateWebhookEndpointOperation } from './operations/update-webhook-endpoint.operation.js';
import { WebhookEndpointsController } from './webhook-endpoints.controller.js';
import { WebhookEndpointsRepository } from './webhook-endpoints.repository.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';

/** The merchant's webhook endpoints and their signing secrets (the delivery reads both from the tables). */
@Module({
  imports: [IdempotencyModule, SsrfGuardModule],
  controllers: [WebhookEndpointsController],
  providers: [
    WebhookEndpointsRepository,
    WebhookEndpointsService,
    CreateWebhookEndpointOperation,
    UpdateWebhookEndpointOperation,
    RotateWebhookEndpointSecretOperation,
  ],
})
export class WebhookEndpointsModule {}
