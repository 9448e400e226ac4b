import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module.js';
import { RefundsModule } from '../refunds/refunds.module.js';
import { ReconcileJob } from './reconcile-job.js';

@Module({ imports: [PaymentsModule, RefundsModule], providers: [ReconcileJob] })
export class JobsModule {}
