import { Body, Controller, Delete, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { Auth, type AuthContext } from '../../auth/auth-context.js';
import type { components } from '../../generated/v1.js';
import { DtoPipe } from '../../http/dto.pipe.js';
import type { ClaimedKey } from '../../idempotency/claimed-key.js';
import { Idempotent, IdempotencyKey } from '../../idempotency/idempotent.decorator.js';
import type { StoredResponse } from '../../idempotency/stored-response.js';
import { CreateWebhookEndpointDto } from './dto/create-webhook-endpoint.dto.js';
import { ListWebhookEndpointsQuery } from './dto/list-webhook-endpoints.query.js';
import { UpdateWebhookEndpointDto } from './dto/update-webhook-endpoint.dto.js';
import { CreateWebhookEndpointOperation } from './operations/create-webhook-endpoint.operation.js';
import { RotateWebhookEndpointSecretOperation } from './operations/rotate-webhook-endpoint-secret.operation.js';
import { UpdateWebhookEndpointOperation } from './operations/update-webhook-endpoint.operation.js';
import type { WebhookEndpointResource } from './webhook-endpoint.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';

@Controller('v1/webhook_endpoints')
export class WebhookEndpointsController {
  constructor(
    private readonly endpoints: WebhookEndpointsService,
    private readonly createEndpoint: CreateWebhookEndpointOperation,
    private readonly updateEndpoint: UpdateWebhookEndpointOperation,
    private readonly rotateSecret: RotateWebhookEndpointSecretOperation,
  ) {}

  @Post()
  @Idempotent({ body: CreateWebhookEndpointDto })
  create(@Auth() auth: AuthContext, @Body() dto: CreateWebhookEndpointDto, @IdempotencyKey() key: ClaimedKey): Promise<StoredResponse> {
    return this.createEndpoint.run(auth, dto, key);
  }

  @Get()
  list(
    @Auth() auth: AuthContext,
    @Query(new DtoPipe(ListWebhookEndpointsQuery)) query: ListWebhookEndpointsQuery,
  ): Promise<components['schemas']['WebhookEndpointList']> {
    return this.endpoints.list(auth, query);
  }

  @Get(':id')
  get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<WebhookEndpointResource> {
    return this.endpoints.get(auth, id);
  }

  @Patch(':id')
  @Idempotent({ body: UpdateWebhookEndpointDto })
  update(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Body() dto: UpdateWebhookEndpointDto,
    @IdempotencyKey() key: ClaimedKey,
  ): Promise<StoredResponse> {
    return this.updateEndpoint.run(auth, id, dto, key);
  }

  @Delete(':id')
  delete(@Auth() auth: AuthContext, @Param('id') id: string): Promise<components['schemas']['WebhookEndpointDeleted']> {
    return this.endpoints.delete(auth, id);
  }

  @Post(':id/rotate_secret')
  @Idempotent({})
  rotate(@Auth() auth: AuthContext, @Param('id') id: string, @IdempotencyKey() key: ClaimedKey): Promise<StoredResponse> {
    return this.rotateSecret.run(auth, id, key);
  }
}
