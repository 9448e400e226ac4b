import { Module } from '@nestjs/common';
import { CrashPoints } from '../faults/crash-points.js';
import { Completer } from './completer.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { IdempotencyService } from './idempotency.service.js';
import { IdempotentOperations } from './idempotent-operations.js';
import { ReplayCache } from './replay-cache.js';
import { Sweeper } from './sweeper.js';

@Module({
  providers: [IdempotencyRepository, ReplayCache, IdempotencyService, IdempotencyInterceptor, IdempotentOperations, CrashPoints, Completer, Sweeper],
  exports: [IdempotencyService, IdempotencyInterceptor, IdempotentOperations, CrashPoints],
})
export class IdempotencyModule {}
