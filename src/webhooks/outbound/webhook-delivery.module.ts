import { Module } from '@nestjs/common';
import { EventsModule } from '../../events/events.module.js';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { DeliveriesController } from './deliveries.controller.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { DeliveriesService } from './deliveries.service.js';
import { DeliveryJob } from './delivery-job.js';
import { DeliveryLeasesRepository } from './delivery-leases.repository.js';
import { DeliveryWorker } from './delivery-worker.js';
import { FanOutRepository } from './fan-out.repository.js';
import { RedeliverEventOperation } from './operations/redeliver-event.operation.js';
import { OutboxRelay } from './outbox-relay.js';
import { PinnedAgents } from './pinned-agents.js';
import { RedeliveriesController } from './redeliveries.controller.js';
import { SsrfGuardModule } from './ssrf-guard.module.js';
import { WebhookSender } from './webhook-sender.js';

/** Merchants' events out to their endpoints: the relay, the worker and its job, deliveries and redelivery. */
@Module({
  imports: [EventsModule, IdempotencyModule, SsrfGuardModule],
  controllers: [DeliveriesController, RedeliveriesController],
  providers: [
    FanOutRepository,
    OutboxRelay,
    DeliveryLeasesRepository,
    PinnedAgents,
    WebhookSender,
    DeliveryWorker,
    DeliveryJob,
    DeliveriesRepository,
    DeliveriesService,
    RedeliverEventOperation,
  ],
  exports: [DeliveriesService],
})
export class WebhookDeliveryModule {}
