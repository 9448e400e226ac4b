import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { Public } from '../../auth/public.decorator.js';
import { RAW_BODY, rawBodyOf } from '../../http/raw-body.js';
import { InboxService } from './inbox.service.js';

/** `POST /provider-webhooks/{provider}`: the providers' events, outside /v1 and its API keys (the signature authenticates). */
@Public()
@Controller('provider-webhooks')
export class ProviderWebhooksController {
  constructor(private readonly inbox: InboxService) {}

  @Post(':provider')
  @HttpCode(200)
  @RouteConfig(RAW_BODY)
  async receive(@Param('provider') provider: string, @Req() request: FastifyRequest): Promise<{ received: true }> {
    await this.inbox.receive(provider, request.raw.headersDistinct, rawBodyOf(request) ?? Buffer.alloc(0));
    return { received: true };
  }
}
