import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard.js';
import { MerchantsRepository } from './merchants.repository.js';
import { MerchantsService } from './merchants.service.js';

@Module({
  providers: [MerchantsRepository, MerchantsService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [MerchantsService],
})
export class AuthModule {}
