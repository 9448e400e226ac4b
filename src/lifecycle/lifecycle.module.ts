import { Global, Module } from '@nestjs/common';
import { Shutdown } from './shutdown.js';

/** Global: the HTTP layer, health and the job queue all read whether the process is draining. */
@Global()
@Module({ providers: [Shutdown], exports: [Shutdown] })
export class LifecycleModule {}
