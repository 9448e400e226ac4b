import { Global, Module } from '@nestjs/common';
import { JobQueue } from './job-queue.js';

/** Global: any capability may queue work or run a worker on the one pg-boss. */
@Global()
@Module({ providers: [JobQueue], exports: [JobQueue] })
export class JobQueueModule {}
