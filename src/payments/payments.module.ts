import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { ProviderModule } from '../provider/provider.module.js';
import { CreatePaymentOperation } from './operations/create-payment.operation.js';
import { UpdatePaymentOperation } from './operations/update-payment.operation.js';
import { PaymentPhasesRepository } from './payment-phases.repository.js';
import { PaymentReconciler } from './payment-reconciler.js';
import { PaymentSettlement } from './payment-settlement.js';
import { PaymentsController } from './payments.controller.js';
import { PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';
import { PaymentsV2Controller } from './v2/payments-v2.controller.js';

@Module({
  imports: [IdempotencyModule, ProviderModule, EventsModule],
  controllers: [PaymentsController, PaymentsV2Controller],
  providers: [PaymentsRepository, PaymentPhasesRepository, PaymentsService, CreatePaymentOperation, UpdatePaymentOperation, PaymentReconciler, PaymentSettlement],
  exports: [PaymentsService, PaymentReconciler, PaymentSettlement],
})
export class PaymentsModule {}
