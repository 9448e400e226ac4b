/**
 * Sends the sandbox's events the way a real provider does: one POST per delivery, signed in the
 * Standard Webhooks form with the `standardwebhooks` package (the API verifies with its own code, so
 * two implementations meet), a timeout per attempt, redirects never followed, and a delivery that
 * gets no 2xx sent again. A failing receiver only ever shows in the delivery's record: nothing here
 * throws into the sandbox. A reset or a close stops a sender for good; its timers are unref'd and
 * cleared, so it never keeps a process alive.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { type Dispatcher, request } from 'undici';
import type { Operation } from './ledger.js';
import type { ActiveWebhooks, DeliveryPlan } from './webhook-knobs.js';

/** A charge or refund that just executed, with the body the sandbox answers for it. */
export interface Execution {
  operation: Operation;
  key: string;
  body: Record<string, unknown>;
}

/** One delivery as `GET /__sandbox/webhooks` shows it; a duplicated event has two, with the same id. */
export interface DeliveryRecord {
  id: string;
  type: string;
  attempts: number;
  /** The last attempt's HTTP status; null before the first attempt or when no answer came. */
  last_status: number | null;
  /** Why the last attempt got no answer (refused, timed out, …). */
  last_error: string | null;
  delivered: boolean;
}

/** Records kept for `GET /__sandbox/webhooks`: the latest ones, so a long `npm start` run does not grow without bound. */
const RECORDS_KEPT = 10_000;

export class WebhookSender {
  private readonly sent: DeliveryRecord[] = [];
  private pendingCount = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  private readonly stopping = new AbortController();

  constructor(private readonly dispatcher: Dispatcher) {}

  /** The latest deliveries, oldest first; see RECORDS_KEPT. */
  get records(): readonly DeliveryRecord[] {
    return this.sent.length > RECORDS_KEPT ? this.sent.slice(-RECORDS_KEPT) : this.sent;
  }

  /** Deliveries queued, in flight or waiting to be retried. */
  get pending(): number {
    return this.pendingCount;
  }

  /**
   * Sends the execution's event as `plan` says. Resolves once the first copy's first attempt is over
   * (delivered, refused or timed out), which `webhook_before_response` waits for; the rest goes on behind.
   */
  send(execution: Execution, webhooks: ActiveWebhooks, plan: DeliveryPlan): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    const event = {
      id: `evt_sbx_${randomBytes(12).toString('hex')}`,
      object: 'event',
      type: `${execution.operation}.${String(execution.body.status)}`,
      created: Math.floor(Date.now() / 1000),
      data: { object: { ...execution.body, idempotency_key: execution.key } },
    };
    // Serialized once: a duplicate carries the very same bytes.
    const body = JSON.stringify(event);
    const waitMs = webhooks.delayMs + plan.holdMs;
    const first = this.deliver(event.id, event.type, body, webhooks, waitMs);
    if (plan.copies === 2) void this.deliver(event.id, event.type, body, webhooks, waitMs);
    return first;
  }

  /** Resolves when nothing is queued, in flight or waiting to be retried. */
  idle(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends nothing more: waits end at once, attempts in flight are aborted. */
  stop(): void {
    this.stopping.abort();
    for (const [timer, resolve] of this.waits) {
      clearTimeout(timer);
      resolve();
    }
    this.waits.clear();
  }

  private deliver(id: string, type: string, body: string, webhooks: ActiveWebhooks, waitMs: number): Promise<void> {
    const record: DeliveryRecord = { id, type, attempts: 0, last_status: null, last_error: null, delivered: false };
    // Trimmed in batches, so keeping the latest costs no shift per delivery.
    if (this.sent.push(record) >= 2 * RECORDS_KEPT) this.sent.splice(0, RECORDS_KEPT);
    this.pendingCount++;
    let firstOver!: () => void;
    const first = new Promise<void>((resolve) => (firstOver = resolve));
    void (async () => {
      try {
        await this.wait(waitMs);
        for (let attempt = 0; attempt <= webhooks.retries && !this.stopping.signal.aborted; attempt++) {
          if (attempt > 0) await this.wait(webhooks.retryIntervalMs);
          if (this.stopping.signal.aborted) break;
          await this.attempt(record, body, webhooks);
          firstOver();
          if (record.delivered) break;
        }
      } finally {
        firstOver();
        this.settle();
      }
    })();
    return first;
  }

  /** One POST; every failure is recorded on `record`, never thrown. */
  private async attempt(record: DeliveryRecord, body: string, webhooks: ActiveWebhooks): Promise<void> {
    const timestamp = new Date();
    record.attempts++;
    try {
      // undici's request follows no redirect: a 3xx is just another answer that is not a 2xx.
      const response = await request(webhooks.url, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: {
          'content-type': 'application/json',
          'webhook-id': record.id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          // Signed again at each attempt, as its timestamp is new; the id and body stay the same.
          'webhook-signature': new Webhook(webhooks.signingSecret).sign(record.id, timestamp, body),
        },
        body,
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(webhooks.timeoutMs)]),
      });
      await response.body.dump();
      record.last_status = response.statusCode;
      record.last_error = null;
      record.delivered = response.statusCode >= 200 && response.statusCode < 300;
    } catch (error) {
      record.last_status = null;
      record.last_error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }

  private wait(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.waits.set(timer, resolve);
    });
  }

  private settle(): void {
    this.pendingCount--;
    if (this.pendingCount > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
