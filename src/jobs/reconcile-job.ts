import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PgBoss, type SendOptions } from 'pg-boss';
import { AppConfig } from '../config/app-config.js';
import { PaymentReconciler } from '../payments/payment-reconciler.js';
import { RefundReconciler } from '../refunds/refund-reconciler.js';
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
export class ReconcileJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcileJob.name);
  private readonly timing: ReconcileTiming;
  private boss: PgBoss | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly payments: PaymentReconciler,
    private readonly refunds: RefundReconciler,
  ) {
    this.timing = reconcileTiming(config);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.jobsEnabled) return;
    const boss = new PgBoss({
      connectionString: this.config.databaseUrl,
      schema: 'pgboss',
      max: 2,
      application_name: 'idempay-jobs',
      // Expired runs are failed by the monitor pass, which runs on the supervise timer when the
      // queue's monitor time is due: both at the expiry check's pace.
      superviseIntervalSeconds: this.timing.expiryCheckSeconds,
      monitorIntervalSeconds: this.timing.expiryCheckSeconds,
    });
    boss.on('error', (error) => this.logger.error(`pg-boss: ${error.message}`));
    // pg-boss 12 installs and creates queues under advisory locks of its own, so instances may boot at once.
    await boss.start();
    await boss.createQueue(QUEUE, { policy: 'stately' });
    await boss.schedule(QUEUE, '* * * * *', {}, this.runOptions());
    await boss.work(QUEUE, { pollingIntervalSeconds: this.timing.pollingIntervalSeconds }, () => this.run());
    await boss.send(QUEUE, {}, this.runOptions());
    this.boss = boss;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.boss?.stop({ graceful: true, timeout: this.config.shutdownGraceMs });
  }

  private async run(): Promise<void> {
    const until = Date.now() + this.timing.runWindowMs;
    const payments = await this.payments.runOnce(until);
    const refunds = await this.refunds.runOnce(until);
    if (payments + refunds > 0) this.logger.log(`reconciled ${payments} payment(s) and ${refunds} refund(s)`);
    const windowUsed = Date.now() >= until;
    await this.boss?.send(QUEUE, {}, { ...this.runOptions(), startAfter: windowUsed ? 0 : Math.ceil(this.config.reconcileBaseMs / 1000) });
  }

  /**
   * Set on every run, not on the queue: a queue created by an earlier version keeps its settings
   * (pg-boss 12's updateQueue refuses to touch a policy, and 10's reset it).
   */
  private runOptions(): SendOptions {
    return { expireInSeconds: this.timing.expireInSeconds, retryLimit: RETRY_LIMIT };
  }
}
