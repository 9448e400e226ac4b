import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task.js';
import { AppConfig } from '../config/app-config.js';
import { IdempotencyService } from './idempotency.service.js';

/**
 * Deletes finished keys past their TTL in batches, so no single delete holds locks for long. A
 * retry after that finds the payment through its operation_id instead.
 */
@Injectable()
export class Sweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Sweeper.name);
  private readonly task: PeriodicTask;

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly config: AppConfig,
  ) {
    this.task = new PeriodicTask('sweeper', config.sweeperIntervalMs, () => this.runOnce(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  /** Before shutdown closes the pool the pass uses: the pass in flight finishes first. */
  beforeApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** Deletes every expired key, one batch at a time; returns how many. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.idempotency.deleteExpiredBatch();
      total += deleted;
      if (deleted < this.config.sweeperBatchSize) return total;
    }
  }
}
