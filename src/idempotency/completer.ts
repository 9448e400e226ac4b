import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task.js';
import { AppConfig } from '../config/app-config.js';
import { Tracing } from '../observability/tracing.js';
import { IdempotencyService } from './idempotency.service.js';
import type { ClaimedKey } from './claimed-key.js';
import { IdempotentOperations, type ResumeOperation } from './idempotent-operations.js';

const BATCH = 50;

/**
 * Deals with keys whose request stopped half-way (the process died, or the client never retried
 * after a server error) and whose lease went stale. A key still at `started` is released: nothing
 * left the database for it, and its client may have been told nothing was done. A later key's
 * provider call may have been made: its operation asks the provider by key and finishes it with the
 * outcome, or releases it when the call never executed. Money that moved always reaches a recorded
 * outcome, and nothing the client did not see happen is carried out for it.
 */
@Injectable()
export class Completer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Completer.name);
  private readonly task: PeriodicTask;

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly operations: IdempotentOperations,
    private readonly tracing: Tracing,
    config: AppConfig,
  ) {
    this.task = new PeriodicTask('completer', config.completerIntervalMs, () => this.runOnce(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  /** Before shutdown closes what a pass uses (the providers' agents, the pool): the pass in flight finishes first. */
  beforeApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One pass: how many keys it released and how many it finished. */
  async runOnce(): Promise<{ released: number; finished: number }> {
    let released = await this.idempotency.releaseStaleStarted(BATCH);
    let finished = 0;
    for (let i = 0; i < BATCH; i++) {
      const key = await this.idempotency.leaseStale();
      if (!key) break;
      const operation = this.operations.get(key.request.route);
      if (!operation) {
        this.logger.error(`no operation registered for ${key.request.route}; key ${key.id} left for a later version`);
        continue;
      }
      // In the trace of the request that stored the key: its lines and calls join that request's.
      const done = await this.tracing.runJob('completer.resume', key.traceparent, (traceId) => this.resume(key, operation, traceId));
      if (done === 'finished') finished++;
      else if (done === 'released') released++;
    }
    return { released, finished };
  }

  private async resume(key: ClaimedKey, operation: ResumeOperation, traceId: string): Promise<'finished' | 'released' | 'left'> {
    try {
      const answer = await this.idempotency.execute(() => key, traceId, () => operation(key));
      this.logger.log(`key ${key.id} (${key.request.route}) ${answer ? `finished with ${answer.status}` : 'released: the provider never executed it'}`);
      return answer ? 'finished' : 'released';
    } catch (error) {
      this.logger.warn(`key ${key.id} not finished yet: ${error instanceof Error ? error.message : String(error)}`);
      return 'left';
    }
  }
}
