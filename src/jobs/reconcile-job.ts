import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import PgBoss from 'pg-boss';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { withAdvisoryLock } from '../database/advisory-lock.js';
import { PaymentReconciler } from '../payments/payment-reconciler.js';
import { RefundReconciler } from '../refunds/refund-reconciler.js';

const QUEUE = 'reconcile';

/**
 * The reconcilers (payments, then refunds) as one pg-boss job. The queue is `stately` (at most one job queued and one running,
 * across every instance), a cron entry guarantees a run every minute, and each run queues the next
 * one RECONCILE_BASE_MS later, so due payments are looked at soon without piling runs up.
 */
@Injectable()
export class ReconcileJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcileJob.name);
  private boss: PgBoss | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly db: DataSource,
    private readonly payments: PaymentReconciler,
    private readonly refunds: RefundReconciler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.jobsEnabled) return;
    const boss = new PgBoss({ connectionString: this.config.databaseUrl, schema: 'pgboss', max: 2, application_name: 'idempay-jobs' });
    boss.on('error', (error) => this.logger.error(`pg-boss: ${error.message}`));
    // pg-boss 10 creates its queues without a lock of its own: two instances doing it at once on a
    // fresh database deadlock, so one installs while the others wait and then find it all there.
    await withAdvisoryLock(this.db, 'idempay:jobs-bootstrap', async () => {
      await boss.start();
      await boss.createQueue(QUEUE, { name: QUEUE, policy: 'stately' });
      await boss.schedule(QUEUE, '* * * * *');
    });
    await boss.work(QUEUE, { pollingIntervalSeconds: Math.max(0.5, this.config.reconcileBaseMs / 1000) }, () => this.run());
    await boss.send(QUEUE, {});
    this.boss = boss;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.boss?.stop({ graceful: true, wait: true, timeout: this.config.shutdownGraceMs });
  }

  private async run(): Promise<void> {
    const payments = await this.payments.runOnce();
    const refunds = await this.refunds.runOnce();
    if (payments + refunds > 0) this.logger.log(`reconciled ${payments} payment(s) and ${refunds} refund(s)`);
    await this.boss?.send(QUEUE, {}, { startAfter: Math.ceil(this.config.reconcileBaseMs / 1000) });
  }
}
