import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ChangeNotificationsModule } from '../database/change-notifications.module.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { MerchantsRepository } from './merchants.repository.js';
import { MerchantsService } from './merchants.service.js';

@Module({
  imports: [ChangeNotificationsModule],
  providers: [MerchantsRepository, MerchantsService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [MerchantsService],
})
export class AuthModule {}
