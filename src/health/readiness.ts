import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { pendingMigrations } from '../database/migrations.js';
import { JobQueue } from '../jobs/job-queue.js';
import { Shutdown } from '../lifecycle/shutdown.js';

/** The database must answer a readiness probe this fast. */
const DATABASE_TIMEOUT_MS = 1_000;

/**
 * Ready: not draining, the database answers, no migration of this build is pending, and the job
 * workers run (when jobs are on). What failed is told in the answer, never a raw error (the probe
 * is public, and a driver's message may name hosts).
 */
@Injectable()
export class Readiness {
  private readonly logger = new Logger('Health');
  /** Applied migrations stay applied: once seen, the probe stops asking. */
  private migrationsApplied = false;
  private wasReady = true;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
    private readonly shutdown: Shutdown,
    private readonly config: AppConfig,
  ) {}

  async check(): Promise<HealthCheckResult> {
    const result = await this.run();
    const ready = result.status === 'ok';
    // Once per change, not per probe; draining is said by the shutdown itself.
    if (ready !== this.wasReady && !this.shutdown.draining) {
      if (ready) this.logger.log('ready again');
      else this.logger.warn(`not ready: ${JSON.stringify(result.error)}`);
    }
    this.wasReady = ready;
    return result;
  }

  private async run(): Promise<HealthCheckResult> {
    try {
      // Draining says it all: the probe asks nothing of the database while the process shuts down.
      if (this.shutdown.draining) return await this.health.check([() => this.indicator.check('draining').down({ message: 'shutting down' })]);
      return await this.health.check([() => this.indicator.check('draining').up(), () => this.database(), () => this.migrations(), () => this.workers()]);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthCheckResult;
      throw error;
    }
  }

  private database() {
    return this.indicator
      .check('database')
      .attempt(async () => {
        await this.db.query('SELECT 1').catch(() => Promise.reject(new Error('the database did not answer')));
      })
      .withTimeout(DATABASE_TIMEOUT_MS);
  }

  private migrations() {
    const check = this.indicator.check('migrations');
    if (this.migrationsApplied) return check.up();
    return check
      .attempt(async () => {
        const pending = await pendingMigrations(this.db).catch(() => Promise.reject(new Error('the migrations could not be read')));
        if (pending.length > 0) throw new Error(`pending: ${pending.join(', ')}`);
        this.migrationsApplied = true;
      })
      .withTimeout(DATABASE_TIMEOUT_MS);
  }

  private workers() {
    const check = this.indicator.check('jobs');
    if (!this.config.jobsEnabled) return check.up({ enabled: false });
    const workers = this.jobs.workerStates();
    const stopped = workers.filter((worker) => worker.state !== 'created' && worker.state !== 'active');
    if (workers.length === 0) return check.down({ message: 'no job worker is registered' });
    if (stopped.length > 0) return check.down({ message: `stopped: ${stopped.map((worker) => worker.queue).join(', ')}` });
    return check.up({ enabled: true, queues: workers.map((worker) => worker.queue) });
  }
}
