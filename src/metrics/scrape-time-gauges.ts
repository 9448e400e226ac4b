import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { collectDefaultMetrics, Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { registeredMetric } from '../common/registered-metric.js';
import { ProviderGateway } from '../provider/provider-gateway.js';
import { type Backlog, BacklogRepository } from './backlog.repository.js';

/** A scrape waits this long for the database, then reports what it has. */
const BACKLOG_TIMEOUT_MS = 1_000;

const BREAKER_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** The app whose state the gauges read: one app per process serves metrics (the last one started). */
let source: ScrapeTimeGauges | undefined;

/** A gauge read when scraped, from the app's memory, or from the backlog query shared by the scrape. */
function gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (gauge: Gauge<L>, from: ScrapeTimeGauges) => void | Promise<void>): Gauge<L> {
  return registeredMetric(
    name,
    () =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        async collect() {
          if (source) await read(this, source);
        },
      }),
  );
}

/** A gauge of the backlog query: it keeps its last value when the database does not answer (see idempay_database_up). */
function backlogGauge(name: string, help: string, value: (backlog: Backlog) => number): Gauge {
  return gauge(name, help, [], async (g, from) => {
    const backlog = await from.backlog();
    if (backlog) g.set(value(backlog));
  });
}

// First: read before this scrape's own backlog query asks the pool for a connection.
gauge('idempay_database_pool_in_use', "Connections of the app's pool checked out by a query or transaction", [], (g, from) => {
  const pool = from.pool();
  if (pool) g.set(pool.totalCount - pool.idleCount);
});
gauge('idempay_database_pool_waiting', "Queries waiting for a connection of the app's pool", [], (g, from) => {
  const pool = from.pool();
  if (pool) g.set(pool.waitingCount);
});
gauge('idempay_database_pool_max', "Size of the app's pool (DATABASE_POOL_SIZE)", [], (g, from) => {
  const pool = from.pool();
  if (pool) g.set(pool.options.max ?? 0);
});

gauge('idempay_database_up', 'Whether this scrape read the database (1) or not (0); the inbox, outbox, delivery and reconciler gauges keep their last values while 0', [], async (g, from) => {
  g.set((await from.backlog()) ? 1 : 0);
});
backlogGauge('idempay_inbox_backlog', 'Provider events received and not yet applied (new, or failed and waiting for their next try)', (b) => b.inboxBacklog);
backlogGauge('idempay_inbox_dead', 'Provider events that failed every try and wait for a redrive', (b) => b.inboxDead);
backlogGauge('idempay_outbox_lag_seconds', 'Age of the oldest event not yet fanned out to webhook deliveries (0 when none waits)', (b) => b.outboxLagSeconds);
backlogGauge('idempay_webhook_delivery_lag_seconds', 'How long the most overdue webhook delivery has been due (0 when none is)', (b) => b.deliveryLagSeconds);
gauge('idempay_reconciler_backlog', 'Payments and refunds whose outcome is unknown, waiting for the reconciler', ['resource'] as const, async (g, from) => {
  const backlog = await from.backlog();
  if (!backlog) return;
  g.set({ resource: 'payment' }, backlog.paymentsAwaitingReconcile);
  g.set({ resource: 'refund' }, backlog.refundsAwaitingReconcile);
});

gauge('idempay_provider_breaker_state', 'Circuit breaker of each provider lane: 0 closed, 1 half-open (the next call is a probe), 2 open', ['provider', 'mode'] as const, (g, from) => {
  g.reset();
  for (const lane of from.gateway.laneStates()) g.set({ provider: lane.provider, mode: lane.mode }, BREAKER_VALUES[lane.breaker]);
});
gauge('idempay_provider_bulkhead_in_flight', 'Provider calls holding a bulkhead slot, per lane', ['provider', 'mode'] as const, (g, from) => {
  g.reset();
  for (const lane of from.gateway.laneStates()) g.set({ provider: lane.provider, mode: lane.mode }, lane.inFlight);
});
gauge('idempay_provider_bulkhead_queued', "Provider calls waiting in a lane's bulkhead queue", ['provider', 'mode'] as const, (g, from) => {
  g.reset();
  for (const lane of from.gateway.laneStates()) g.set({ provider: lane.provider, mode: lane.mode }, lane.queued);
});

/**
 * Gives the gauges above the app to read, and Node's process metrics (CPU, memory, event loop lag,
 * GC). Every gauge of the backlog shares one query per scrape.
 */
@Injectable()
export class ScrapeTimeGauges implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private pending: Promise<Backlog | undefined> | undefined;

  constructor(
    readonly gateway: ProviderGateway,
    private readonly db: DataSource,
    private readonly backlogs: BacklogRepository,
  ) {}

  onModuleInit(): void {
    source = this;
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
  }

  onApplicationShutdown(): void {
    if (source === this) source = undefined;
  }

  /** The pg Pool under TypeORM's DataSource, once it is connected. */
  pool(): Pool | undefined {
    return (this.db.driver as unknown as { master?: Pool }).master;
  }

  /** The backlog for this scrape: the gauges collected together share one query; undefined when the database did not answer. */
  backlog(): Promise<Backlog | undefined> {
    this.pending ??= this.readBacklog().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async readBacklog(): Promise<Backlog | undefined> {
    const timer = new AbortController();
    const timeout = sleep(BACKLOG_TIMEOUT_MS, undefined, { signal: timer.signal }).catch(() => undefined);
    try {
      return await Promise.race([this.backlogs.read(), timeout]);
    } catch (error) {
      this.logger.warn(`the backlog gauges could not be read: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    } finally {
      timer.abort();
    }
  }
}
