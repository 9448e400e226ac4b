import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Tracing } from './tracing.js';

/** The app's Tracing, built with the app (its exporter may come from a test), for every module that makes spans or runs jobs. */
@Global()
@Module({})
export class ObservabilityModule implements OnApplicationShutdown {
  constructor(private readonly tracing: Tracing) {}

  static forRoot(tracing: Tracing): DynamicModule {
    return { module: ObservabilityModule, providers: [{ provide: Tracing, useValue: tracing }], exports: [Tracing] };
  }

  /** A global module's hooks run after the others': the spans of the jobs' last runs are exported too. */
  onApplicationShutdown(): Promise<void> {
    return this.tracing.shutdown();
  }
}
