import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from './auth/auth.module.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { ConsoleModule } from './console/console.module.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { DocsModule } from './docs/docs.module.js';
import { HealthModule } from './health/health.module.js';
import { JobQueueModule } from './jobs/job-queue.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import type { Tracing } from './observability/tracing.js';
import { PaymentsModule } from './payments/payments.module.js';
import { RefundsModule } from './refunds/refunds.module.js';
import { WebhookEndpointsModule } from './webhooks/endpoints/webhook-endpoints.module.js';
import { WebhookDeliveryModule } from './webhooks/outbound/webhook-delivery.module.js';
import { ProviderWebhooksModule } from './webhooks/inbound/provider-webhooks.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, tracing: Tracing): DynamicModule {
    if (!config.databaseUrl) throw new Error('AppModule needs a database URL');
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LifecycleModule,
        ObservabilityModule.forRoot(tracing),
        TypeOrmModule.forRoot(
          dataSourceOptions(config.databaseUrl, config.databasePoolSize, {
            statementMs: config.databaseStatementTimeoutMs,
            lockMs: config.databaseLockTimeoutMs,
            idleInTransactionMs: config.databaseIdleInTransactionTimeoutMs,
            poolMs: config.databasePoolTimeoutMs,
          }),
        ),
        JobQueueModule,
        AuthModule,
        PaymentsModule,
        RefundsModule,
        WebhookEndpointsModule,
        DocsModule,
        JobsModule,
        WebhookDeliveryModule,
        ProviderWebhooksModule,
        HealthModule,
        MetricsModule.forRoot(config),
        ...(config.adminToken ? [ConsoleModule] : []),
      ],
    };
  }
}
