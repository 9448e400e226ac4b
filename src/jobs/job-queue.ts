import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PgBoss, type WorkerState } from 'pg-boss';
import { AppConfig } from '../config/app-config.js';
import { Shutdown } from '../lifecycle/shutdown.js';
import { reconcileTiming } from './reconcile-timing.js';

/**
 * The process's one pg-boss: started before any job registers its queue and workers (in their
 * onApplicationBootstrap), stopped gracefully at shutdown. Off with JOBS_ENABLED=false, where the
 * tests run each job's work themselves.
 */
@Injectable()
export class JobQueue implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(JobQueue.name);
  private started: PgBoss | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly shutdown: Shutdown,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.jobsEnabled) return;
    const timing = reconcileTiming(this.config);
    const boss = new PgBoss({
      connectionString: this.config.databaseUrl,
      schema: 'pgboss',
      max: 4,
      application_name: 'idempay-jobs',
      // Expired runs are failed by the monitor pass, which runs on the supervise timer when the
      // queue's monitor time is due: both at the reconcile expiry check's pace.
      superviseIntervalSeconds: timing.expiryCheckSeconds,
      monitorIntervalSeconds: timing.expiryCheckSeconds,
    });
    boss.on('error', (error) => this.logger.error(`pg-boss: ${error.message}`));
    // pg-boss 12 installs and creates queues under advisory locks of its own, so instances may boot at once.
    await boss.start();
    this.started = boss;
  }

  /** The running pg-boss; undefined when jobs are off. */
  get boss(): PgBoss | undefined {
    return this.started;
  }

  /** The state of each worker registered on this process (none when jobs are off). */
  workerStates(): { queue: string; state: WorkerState }[] {
    return (this.started?.getWipData() ?? []).map((worker) => ({ queue: worker.name, state: worker.state }));
  }

  /**
   * The workers stop taking jobs and the running ones finish within what is left of the grace,
   * while the HTTP server drains: before the providers' agents and the database pool close under
   * them. pg-boss's own pool stays open for requests still queueing jobs in their transactions.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.started?.stop({ graceful: true, close: false, timeout: this.shutdown.remainingMs() });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.started?.stop({ close: true });
  }
}
