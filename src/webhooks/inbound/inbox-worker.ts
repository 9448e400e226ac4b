import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { PeriodicTask } from '../../common/periodic-task.js';
import { AppConfig } from '../../config/app-config.js';
import { JobQueue } from '../../jobs/job-queue.js';
import { INBOX_QUEUE, type InboxJob } from './inbox-queue.js';
import { InboxProcessor } from './inbox-processor.js';

/**
 * With jobs on: a pg-boss worker applies each event as soon as its job is polled, and a periodic
 * pass applies whatever else is due (a retry after a failure, an event redriven from the CLI, one
 * whose job or worker was lost). Both lease first, so any number of instances can run them.
 */
@Injectable()
export class InboxWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(InboxWorker.name);
  private sweep: PeriodicTask | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly queue: JobQueue,
    private readonly processor: InboxProcessor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const boss = this.queue.boss;
    if (!boss) return;
    await boss.createQueue(INBOX_QUEUE);
    await boss.work<InboxJob>(INBOX_QUEUE, { pollingIntervalSeconds: 0.5, batchSize: 20 }, async (jobs) => {
      for (const job of jobs) await this.processor.process(job.data.id);
    });
    this.sweep = new PeriodicTask('inbox pass', this.config.inboxSweepIntervalMs, () => this.processor.runDue(), this.logger);
    this.sweep.start();
  }

  /** Before shutdown closes what a pass uses (the pool): the pass in flight finishes first. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.sweep?.stop();
  }
}
