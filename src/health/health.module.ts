import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { Readiness } from './readiness.js';

/**
 * `/health/live` and `/health/ready` (JobQueue, Shutdown and the DataSource come from global
 * modules). Terminus logs nothing itself: Readiness logs when readiness changes, not every probe.
 */
@Module({ imports: [TerminusModule.forRoot({ logger: false })], controllers: [HealthController], providers: [Readiness] })
export class HealthModule {}
