import { Injectable, Logger } from '@nestjs/common';
import { reconcileDelayMs } from '../../common/reconcile-backoff.js';
import { AppConfig } from '../../config/app-config.js';
import { Tracing } from '../../observability/tracing.js';
import { InboxRepository, type InboxRow } from './inbox.repository.js';
import { ProviderEventApplier } from './provider-event-applier.js';

/** Far longer than applying one event takes (a few statements, each under the statement timeout). */
const LEASE_MS = 30_000;
/** Events leased at most per pass, so one pass stays bounded however many are due. */
const MAX_PER_PASS = 200;

/**
 * Applies stored provider events: one named by its job, or every one that is due (the periodic
 * pass, and the tests when jobs are off). Each is leased first, so it is applied by one worker at a
 * time; a failure is recorded and retried with backoff until `inboxMaxAttempts`, then it is `dead`.
 * The change and the row's `applied` are two commits: an event whose worker died between them is
 * applied again when its lease ends, which changes nothing (its outcome then reads "no change").
 */
@Injectable()
export class InboxProcessor {
  private readonly logger = new Logger(InboxProcessor.name);

  constructor(
    private readonly inbox: InboxRepository,
    private readonly applier: ProviderEventApplier,
    private readonly tracing: Tracing,
    private readonly config: AppConfig,
  ) {}

  /** The event with this row id, if it is still due (not applied, nor leased by another worker, nor waiting for a retry). */
  async process(id: string): Promise<void> {
    const row = await this.inbox.lease(id, LEASE_MS);
    if (row) await this.applyLeased(row);
  }

  /** One pass over the events that are due; returns how many it tried. */
  async runDue(): Promise<number> {
    const rows = await this.inbox.leaseDue(LEASE_MS, MAX_PER_PASS);
    for (const row of rows) await this.applyLeased(row);
    return rows.length;
  }

  /** In the trace of the webhook request that brought the event in. */
  private applyLeased(row: InboxRow): Promise<void> {
    return this.tracing.runJob('provider_event.apply', row.traceparent, () => this.apply(row));
  }

  private async apply(row: InboxRow): Promise<void> {
    let result;
    try {
      result = await this.applier.apply(row);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const delayMs = reconcileDelayMs(row.attempts, this.config.inboxRetryBaseMs, this.config.inboxRetryMaxMs);
      const status = await this.inbox.fail(row.id, message.slice(0, 1_000), this.config.inboxMaxAttempts, delayMs);
      const next = status === 'dead' ? `dead after ${row.attempts + 1} tries` : `retried in ${delayMs} ms`;
      this.logger.warn(`provider event ${row.provider}/${row.event_id} (inbox ${row.id}) failed, ${next}: ${message}`);
      return;
    }
    await this.inbox.finish(row.id, result.status, result.outcome);
    this.logger.debug(`provider event ${row.provider}/${row.event_id} (inbox ${row.id}) ${result.status}: ${result.outcome}`);
  }
}
