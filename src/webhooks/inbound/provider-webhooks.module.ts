import { Module } from '@nestjs/common';
import { PaymentsModule } from '../../payments/payments.module.js';
import { RefundsModule } from '../../refunds/refunds.module.js';
import { EventTargetsRepository } from './event-targets.repository.js';
import { InboxProcessor } from './inbox-processor.js';
import { InboxRepository } from './inbox.repository.js';
import { InboxService } from './inbox.service.js';
import { InboxWorker } from './inbox-worker.js';
import { ProviderEventApplier } from './provider-event-applier.js';
import { ProviderWebhooksController } from './provider-webhooks.controller.js';
import { WebhookProviders } from './webhook-providers.js';

/** The provider's webhooks: verified, stored in the inbox, and applied by a job. */
@Module({
  imports: [PaymentsModule, RefundsModule],
  controllers: [ProviderWebhooksController],
  providers: [WebhookProviders, InboxRepository, InboxService, EventTargetsRepository, ProviderEventApplier, InboxProcessor, InboxWorker],
  exports: [InboxProcessor, InboxService],
})
export class ProviderWebhooksModule {}
