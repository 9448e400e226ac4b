import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { ProviderModule } from '../provider/provider.module.js';
import { CreateRefundOperation } from './operations/create-refund.operation.js';
import { RefundOutcomes } from './refund-outcomes.js';
import { RefundReconciler } from './refund-reconciler.js';
import { RefundsController } from './refunds.controller.js';
import { RefundsRepository } from './refunds.repository.js';
import { RefundsService } from './refunds.service.js';

@Module({
  imports: [IdempotencyModule, ProviderModule, EventsModule],
  controllers: [RefundsController],
  providers: [RefundsRepository, RefundsService, RefundOutcomes, CreateRefundOperation, RefundReconciler],
  exports: [RefundReconciler, RefundOutcomes],
})
export class RefundsModule {}
