import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { SendOptions } from 'pg-boss';
import { AppConfig } from '../../config/app-config.js';
import { JobQueue } from '../../jobs/job-queue.js';
import { DeliveryWorker } from './delivery-worker.js';

const QUEUE = 'webhook-delivery';
// A run carries no data: retrying one that expired or failed is simply the next run, never given up.
const RETRY_LIMIT = 1_000_000;
/** Room for a run's last database work after its last attempt. */
const DATABASE_ALLOWANCE_MS = 2_000;

/**
 * The outbox relay and the delivery worker as one pg-boss job, like the reconciler's: a `stately`
 * queue (at most one run queued and one active across every instance), a cron entry that
 * guarantees a run every minute, and each run queueing the next at once as it ends. A run keeps
 * polling every WEBHOOK_POLL_INTERVAL_MS for a window, sending up to 32 attempts at a time, so an
 * event goes out within about one poll interval of its commit without a job per event. Runs expire
 * soon after their window, so one left active by a dead instance (kill -9) blocks the others for a
 * bounded time; the deliveries it held are leased, not owned, and go to whoever runs next once
 * their leases run out. Should a run overrun and pg-boss start another beside it, the leases still
 * keep each delivery with one sender.
 */
@Injectable()
export class DeliveryJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveryJob.name);
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly queue: JobQueue,
    private readonly worker: DeliveryWorker,
  ) {}

  /** How long a run keeps polling: ten polls, from 1 to 10 s. */
  private get runWindowMs(): number {
    return Math.min(10_000, Math.max(1_000, 10 * this.config.webhookPollIntervalMs));
  }

  async onApplicationBootstrap(): Promise<void> {
    const boss = this.queue.boss;
    if (!boss) return;
    await boss.createQueue(QUEUE, { policy: 'stately' });
    await boss.schedule(QUEUE, '* * * * *', {}, this.runOptions());
    await boss.work(QUEUE, { pollingIntervalSeconds: Math.max(0.5, this.config.webhookPollIntervalMs / 1000) }, () => this.run());
    await boss.send(QUEUE, {}, this.runOptions());
  }

  /** A run in flight ends at its next look instead of at the end of its window. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  private async run(): Promise<void> {
    const attempts = await this.worker.runUntil(Date.now() + this.runWindowMs, () => this.stopping);
    if (attempts > 0) this.logger.debug(`made ${attempts} delivery attempt(s)`);
    if (!this.stopping) await this.queue.boss?.send(QUEUE, {}, this.runOptions());
  }

  /** Set on every run, not on the queue (see ReconcileJob.runOptions). */
  private runOptions(): SendOptions {
    const expireInSeconds = Math.ceil((this.runWindowMs + this.config.webhookAttemptTimeoutMs + DATABASE_ALLOWANCE_MS) / 1000);
    return { expireInSeconds, retryLimit: RETRY_LIMIT };
  }
}
