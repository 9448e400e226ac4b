import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { ProviderModule } from '../provider/provider.module.js';
import { BacklogRepository } from './backlog.repository.js';
import { MetricsServer } from './metrics-server.js';
import { MetricsController } from './metrics.controller.js';
import { ScrapeTimeGauges } from './scrape-time-gauges.js';

/** Whether this configuration serves /metrics at all: on METRICS_PORT, or on the API's port behind METRICS_TOKEN. */
export function metricsServed(config: AppConfig): boolean {
  return config.metricsPort !== undefined || config.metricsToken !== undefined;
}

/**
 * Prometheus metrics from prom-client's default registry: on METRICS_PORT when it is set (and then
 * not on the API's port), else at the API's `/metrics` behind METRICS_TOKEN, else nowhere (a 404).
 */
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!metricsServed(config)) return { module: MetricsModule };
    const onOwnPort = config.metricsPort !== undefined;
    return {
      module: MetricsModule,
      imports: [ProviderModule],
      providers: [BacklogRepository, ScrapeTimeGauges, ...(onOwnPort ? [MetricsServer] : [])],
      controllers: onOwnPort ? [] : [MetricsController],
    };
  }
}
