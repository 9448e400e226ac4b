import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { SendOptions } from 'pg-boss';
import { AppConfig } from '../config/app-config.js';
import { PaymentReconciler } from '../payments/payment-reconciler.js';
import { RefundReconciler } from '../refunds/refund-reconciler.js';
import { JobQueue } from './job-queue.js';
import { type ReconcileTiming, reconcileTiming } from './reconcile-timing.js';

const QUEUE = 'reconcile';
// A run carries no data, so retrying one that expired or failed is simply the next run: never give
// up on it, or the queue could be left with nothing to run until the cron's next minute.
const RETRY_LIMIT = 1_000_000;

/**
 * The reconcilers (payments, then refunds) as one pg-boss job. The queue is `stately` (at most one job queued and one running,
 * across every instance), a cron entry guarantees a run every minute, and each run queues the next
 * one RECONCILE_BASE_MS later (at once if it used its whole window), so due payments are looked at
 * soon without piling runs up. Runs are bounded and expire soon after (see reconcile-timing.ts), so
 * a run left active by a dead instance blocks the others for a bounded time only.
 */
@Injectable()
export class ReconcileJob implements OnApplicationBootstrap {
  private readonly logger = new Logger(ReconcileJob.name);
  private readonly timing: ReconcileTiming;

  constructor(
    private readonly config: AppConfig,
    private readonly queue: JobQueue,
    private readonly payments: PaymentReconciler,
    private readonly refunds: RefundReconciler,
  ) {
    this.timing = reconcileTiming(config);
  }

  async onApplicationBootstrap(): Promise<void> {
    const boss = this.queue.boss;
    if (!boss) return;
    await boss.createQueue(QUEUE, { policy: 'stately' });
    await boss.schedule(QUEUE, '* * * * *', {}, this.runOptions());
    await boss.work(QUEUE, { pollingIntervalSeconds: this.timing.pollingIntervalSeconds }, () => this.run());
    await boss.send(QUEUE, {}, this.runOptions());
  }

  private async run(): Promise<void> {
    const until = Date.now() + this.timing.runWindowMs;
    const payments = await this.payments.runOnce(until);
    const refunds = await this.refunds.runOnce(until);
    if (payments + refunds > 0) this.logger.log(`reconciled ${payments} payment(s) and ${refunds} refund(s)`);
    const windowUsed = Date.now() >= until;
    await this.queue.boss?.send(QUEUE, {}, { ...this.runOptions(), startAfter: windowUsed ? 0 : Math.ceil(this.config.reconcileBaseMs / 1000) });
  }

  /**
   * Set on every run, not on the queue: a queue created by an earlier version keeps its settings
   * (pg-boss 12's updateQueue refuses to touch a policy, and 10's reset it).
   */
  private runOptions(): SendOptions {
    return { expireInSeconds: this.timing.expireInSeconds, retryLimit: RETRY_LIMIT };
  }
}
