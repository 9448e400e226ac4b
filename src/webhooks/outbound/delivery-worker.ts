import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { Tracing } from '../../observability/tracing.js';
import { type AttemptOutcome, DeliveryLeasesRepository, type DueDelivery } from './delivery-leases.repository.js';
import { webhookDeliveryAttemptsTotal } from './delivery-metrics.js';
import { nextAttemptDelayMs } from './delivery-schedule.js';
import { OutboxRelay } from './outbox-relay.js';
import { type AttemptResult, WebhookSender } from './webhook-sender.js';

/** Attempts in flight per worker at most. */
const MAX_IN_FLIGHT = 32;
/** On top of the attempt timeout: the SSRF guard's lookup and recording the outcome. */
const LEASE_ALLOWANCE_MS = 5_000;

/**
 * Relays the outbox and sends the deliveries that are due, each under a lease on its row (see
 * DeliveryLeasesRepository), so any number of workers on any number of instances never send one
 * delivery twice at once, and one whose sender died is sent by another once its lease runs out.
 */
@Injectable()
export class DeliveryWorker {
  private readonly logger = new Logger(DeliveryWorker.name);

  constructor(
    private readonly config: AppConfig,
    private readonly relay: OutboxRelay,
    private readonly leases: DeliveryLeasesRepository,
    private readonly sender: WebhookSender,
    private readonly tracing: Tracing,
  ) {}

  /** The lease of one attempt: it must outlive the attempt, or another worker could send it alongside. */
  private get leaseMs(): number {
    return this.config.webhookAttemptTimeoutMs + LEASE_ALLOWANCE_MS;
  }

  /** One pass, as the tests drive it: relay, then send everything due until nothing is. Returns the attempts made. */
  async runOnce(): Promise<number> {
    await this.relay.runOnce();
    let attempts = 0;
    for (;;) {
      const due = await this.leases.leaseDue(MAX_IN_FLIGHT, this.leaseMs);
      await Promise.all(due.map((delivery) => this.deliver(delivery)));
      attempts += due.length;
      if (due.length < MAX_IN_FLIGHT) return attempts;
    }
  }

  /**
   * Keeps relaying and sending until `until` (or `stopping()`), then waits for the attempts in
   * flight. The relay runs every poll interval, or again at once while it finds a backlog; due
   * deliveries are leased whenever a quarter of the slots are free (fewer, larger lease queries),
   * and when nothing is due it looks again after a poll interval or as soon as an attempt ends.
   * Returns the attempts made.
   */
  async runUntil(until: number, stopping: () => boolean): Promise<number> {
    const inFlight = new Set<Promise<void>>();
    let attempts = 0;
    let relayedAt = 0;
    let backlog = false;
    while (Date.now() < until && !stopping()) {
      if (backlog || Date.now() - relayedAt >= this.config.webhookPollIntervalMs) {
        relayedAt = Date.now();
        backlog = (await this.relay.runOnce()) === OutboxRelay.MAX_PER_PASS;
      }
      const room = MAX_IN_FLIGHT - inFlight.size;
      const due = room >= MAX_IN_FLIGHT / 4 ? await this.leases.leaseDue(room, this.leaseMs) : [];
      for (const delivery of due) {
        const attempt: Promise<void> = this.deliver(delivery).finally(() => inFlight.delete(attempt));
        inFlight.add(attempt);
      }
      attempts += due.length;
      if (due.length > 0 && due.length === room) continue;
      const wake = new AbortController();
      const pause = Math.min(this.config.webhookPollIntervalMs, Math.max(0, until - Date.now()));
      await Promise.race([sleep(pause, undefined, { signal: wake.signal }).catch(() => undefined), ...inFlight]);
      wake.abort();
    }
    await Promise.all(inFlight);
    return attempts;
  }

  /** In the trace of the change the event reports: the merchant's endpoint gets its traceparent. */
  private deliver(delivery: DueDelivery): Promise<void> {
    return this.tracing.runJob('webhook.deliver', delivery.traceparent, () => this.attempt(delivery));
  }

  /** One attempt and its record; never throws (a failure to record leaves the lease to run out, and the delivery is sent again). */
  private async attempt(delivery: DueDelivery): Promise<void> {
    try {
      const result = await this.sender.send(delivery);
      const outcome = this.outcomeOf(delivery, result);
      const recorded = await this.leases.record(delivery, outcome, this.config.webhookDisableAfterMs);
      if (!recorded) this.logger.warn(`delivery ${delivery.id}: its lease was lost before the attempt could be recorded`);
      else {
        webhookDeliveryAttemptsTotal.inc({ outcome: outcome.status === 'pending' ? 'retrying' : outcome.status });
        this.logger.debug(`delivery ${delivery.id} of ${delivery.event.id} attempt ${delivery.attempts + 1}: ${result.httpStatus ?? result.error} in ${result.latencyMs} ms, now ${outcome.status}`);
      }
    } catch (error) {
      this.logger.error(`delivery ${delivery.id} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private outcomeOf(delivery: DueDelivery, result: AttemptResult): AttemptOutcome {
    const base = { httpStatus: result.httpStatus, error: result.error, latencyMs: result.latencyMs };
    if (result.error === null) return { ...base, status: 'delivered', nextDelayMs: null, endpoint: 'succeeded' };
    if (result.httpStatus === 410) return { ...base, status: 'dead', nextDelayMs: null, endpoint: 'gone' };
    const made = delivery.attempts - delivery.retryFrom + 1;
    const delay = nextAttemptDelayMs(this.config.webhookRetryScheduleMs, made, result.retryAfterMs);
    return { ...base, status: delay === undefined ? 'dead' : 'pending', nextDelayMs: delay ?? null, endpoint: 'failed' };
  }
}
