/**
 * The sandbox payment provider: a small Fastify app reached only over HTTP, the way a real provider
 * would be. It imports nothing of the API's code on purpose.
 *
 * Provider routes (hit by the fault knobs, and counted by `GET /__sandbox/requests`):
 *   POST /v1/charges                     Idempotency-Key; { amount, currency, payment_method, reference? } → charge
 *   POST /v1/refunds                     Idempotency-Key; { charge, amount, currency, reference? } → refund
 *   GET  /v1/charges?idempotency_key=K   what K executed, waiting while it runs; 404 resource_missing if it never did
 *   GET  /v1/refunds?idempotency_key=K   the same for refunds
 *
 * A key executes exactly once, under every fault and under concurrency: a request with an executed
 * key gets its stored answer (`idempotent-replayed: true`), even when the request that executed it
 * was answered with a fault; a request that did not execute (error, timeout, reset, 429, a refusal)
 * stores nothing, so the next one with that key executes fresh. `state.executions` counts the real
 * executions per key, which is how the tests prove "exactly one".
 *
 * Webhooks: with a URL and a Standard Webhooks secret (`whsec_<base64>`) set, every real execution —
 * never a replay, a refusal, or a fault that executed nothing; a charge-then-fail did execute — POSTs
 * one event, `charge.succeeded`, `charge.failed`, `refund.succeeded` or `refund.failed`:
 *   { "id": "evt_sbx_<24 hex>", "object": "event", "type", "created": <unix s>,
 *     "data": { "object": { <the charge or refund as answered>, "idempotency_key": <the request's key> } } }
 * signed with `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>`. Charges with `pm_card_refund_fails` succeed and their refunds fail, so every
 * type can happen. Knobs (JSON field / env variable, see webhook-knobs.ts):
 *   webhook_url / SANDBOX_WEBHOOK_URL                         where events go (null: none sent)
 *   webhook_signing_secret / SANDBOX_WEBHOOK_SIGNING_SECRET   write-only; the config shows webhook_signing_secret_set
 *   webhooks_enabled / SANDBOX_WEBHOOKS_ENABLED               true; false sends nothing
 *   webhook_delay_ms / SANDBOX_WEBHOOK_DELAY_MS               0; waited before an event is sent
 *   webhook_duplicate_rate / SANDBOX_WEBHOOK_DUPLICATE_RATE   0; share of events sent twice (same id and body)
 *   webhook_reorder_rate / SANDBOX_WEBHOOK_REORDER_RATE       0; share held an extra 0…webhook_reorder_max_ms (200), so later ones overtake
 *   webhook_before_response / SANDBOX_WEBHOOK_BEFORE_RESPONSE false; true delivers (up to its timeout) before the charge or refund is answered
 *   webhook_retries / SANDBOX_WEBHOOK_RETRIES                 3; resends of a delivery that got no 2xx,
 *   webhook_retry_interval_ms / SANDBOX_WEBHOOK_RETRY_INTERVAL_MS  1000 apart
 *   webhook_timeout_ms / SANDBOX_WEBHOOK_TIMEOUT_MS           5000; one attempt's limit. Redirects are never followed.
 * The draws (duplicate, reorder) come from their own stream of the seed, leaving the faults' sequence as it was.
 *
 * Every provider request's `traceparent` is kept by idempotency key (`state.traceparents`, one per
 * request, faulted ones and retries included), so a test can follow a trace into the provider.
 *
 * Test routes: `GET /__sandbox/executions[?key=]`, `GET /__sandbox/requests`, `GET|POST /__sandbox/config`
 * (the knobs of faults.ts and webhook-knobs.ts, partial updates), `GET /__sandbox/webhooks` (each
 * delivery's id, type, attempts, last_status, last_error, delivered; and how many are pending),
 * `POST /__sandbox/reset` (state, deliveries and fault knobs back to defaults, stopping unfinished
 * deliveries; the webhook knobs back to those the sandbox was started with).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Agent } from 'undici';
import { Connections, resetConnection } from './connections.js';
import { applyFaults, defaultFaults, delayOf, type Fault, faultsFromJson, faultsToJson, pickFault, type SandboxFaults } from './faults.js';
import { KnobError } from './knob.js';
import { type Answer, errorAnswer, Ledger, type Submitted } from './ledger.js';
import { mulberry32, type Random } from './random.js';
import {
  applyWebhooks,
  defaultWebhooks,
  planDelivery,
  type SandboxWebhooks,
  WEBHOOK_FIELDS,
  webhooksFromJson,
  webhooksOn,
  webhooksToJson,
} from './webhook-knobs.js';
import { type DeliveryRecord, type Execution, WebhookSender } from './webhook-sender.js';

export type { ChargeThenFailMode, Fault, SandboxFaults } from './faults.js';
export { faultsFromEnv } from './faults.js';
export type { ChargeRecord } from './ledger.js';
export type { SandboxWebhooks } from './webhook-knobs.js';
export { webhooksFromEnv } from './webhook-knobs.js';
export type { DeliveryRecord } from './webhook-sender.js';

export interface SandboxOptions {
  /** Knobs at start; the rest default to no faults. */
  faults?: Partial<SandboxFaults>;
  /** Webhook knobs at start, kept across resets; without a URL and a secret no webhooks are sent. */
  webhooks?: Partial<SandboxWebhooks>;
  logger?: boolean | { level: string };
}

export const PROVIDER_ROUTES = ['POST /v1/charges', 'GET /v1/charges', 'POST /v1/refunds', 'GET /v1/refunds'] as const;
export type ProviderRoute = (typeof PROVIDER_ROUTES)[number];

/** Where the webhook draws start for a seed: their own stream, so they never shift the faults' sequence. */
const webhookSeed = (seed: number) => (seed ^ 0x5bd1e995) >>> 0;

/** What a reset replaces, so an execution still running from before a reset cannot write into, or announce to, the new state. */
interface Run {
  ledger: Ledger;
  sender: WebhookSender;
}

export class SandboxState {
  /** Requests that reached each provider route, faulted ones included. */
  readonly requests = new Map<ProviderRoute, number>(PROVIDER_ROUTES.map((route) => [route, 0]));
  /** The `traceparent` of every provider request, by its idempotency key (a header, or a lookup's query), in order. */
  readonly traceparents = new Map<string, string[]>();
  // One connection pool for every sender; destroyed on close.
  private readonly agent = new Agent({ keepAliveTimeout: 1_000 });
  private run: Run;
  private knobs: SandboxFaults;
  private random: Random;
  private readonly startWebhooks: SandboxWebhooks;
  private hooks: SandboxWebhooks;
  private webhookRandom: Random;

  constructor(faults: Partial<SandboxFaults> = {}, webhooks: Partial<SandboxWebhooks> = {}) {
    this.knobs = applyFaults(defaultFaults(), faults);
    this.random = mulberry32(this.knobs.seed);
    this.startWebhooks = applyWebhooks(defaultWebhooks(), webhooks);
    this.hooks = this.startWebhooks;
    this.webhookRandom = mulberry32(webhookSeed(this.knobs.seed));
    this.run = { ledger: new Ledger(), sender: new WebhookSender(this.agent) };
  }

  /** The knobs in force; change them with `configure`. */
  get faults(): Readonly<SandboxFaults> {
    return this.knobs;
  }

  /** The webhook knobs in force; change them with `configure`. */
  get webhooks(): Readonly<SandboxWebhooks> {
    return this.hooks;
  }

  /** Real executions per idempotency key, charges and refunds alike. */
  get executions(): Map<string, number> {
    return this.run.ledger.executions;
  }

  /** Executed charges by id, with how much of each is refunded. */
  get charges(): Ledger['charges'] {
    return this.run.ledger.charges;
  }

  get byKey(): Ledger['byKey'] {
    return this.run.ledger.byKey;
  }

  /** The deliveries since the last reset (a duplicated event twice; the latest 10,000), and how many are not finished. */
  get deliveries(): { sent: readonly DeliveryRecord[]; pending: number } {
    return { sent: this.run.sender.records, pending: this.run.sender.pending };
  }

  /** Resolves when no webhook is queued, in flight or waiting to be retried. */
  webhooksIdle(): Promise<void> {
    return this.run.sender.idle();
  }

  get latencyMs(): number {
    return this.knobs.latencyMs;
  }

  set latencyMs(ms: number) {
    this.configure({ latencyMs: ms });
  }

  /** Applies the given knobs, faults and webhooks together (all or nothing; throws KnobError on a bad value). A seed restarts both streams of draws. */
  configure(patch: Partial<SandboxFaults>, webhooks: Partial<SandboxWebhooks> = {}): void {
    const knobs = applyFaults(this.knobs, patch);
    this.hooks = applyWebhooks(this.hooks, webhooks);
    this.knobs = knobs;
    if (patch.seed !== undefined) {
      this.random = mulberry32(this.knobs.seed);
      this.webhookRandom = mulberry32(webhookSeed(this.knobs.seed));
    }
  }

  /**
   * Forgets every key, charge, refund, count and webhook delivery (stopping those not finished), and
   * puts the fault knobs back to their defaults. The webhook knobs go back to those the sandbox was
   * started with, so a URL and secret wired at start (`npm start`) survive a test's reset.
   */
  reset(): void {
    this.run.sender.stop();
    this.run = { ledger: new Ledger(), sender: new WebhookSender(this.agent) };
    this.knobs = defaultFaults();
    this.random = mulberry32(this.knobs.seed);
    this.hooks = this.startWebhooks;
    this.webhookRandom = mulberry32(webhookSeed(this.knobs.seed));
    for (const route of PROVIDER_ROUTES) this.requests.set(route, 0);
    this.traceparents.clear();
  }

  /** Stops sending webhooks and drops their connections; the sandbox is closing. */
  async close(): Promise<void> {
    this.run.sender.stop();
    await this.agent.destroy();
  }

  /** Keeps the traceparent a provider request came with, under the key it is about. */
  heard(key: string | undefined, traceparent: string | string[] | undefined): void {
    if (key === undefined || typeof traceparent !== 'string') return;
    const heard = this.traceparents.get(key);
    if (heard) heard.push(traceparent);
    else this.traceparents.set(key, [traceparent]);
  }

  /**
   * Counts a request and draws its fault and latency: always two draws, so the faults' sequence for a
   * seed does not depend on the jitter. `announce` sends an execution's webhook in the run the request
   * was admitted to; it resolves at once unless the event must be delivered before the answer.
   */
  admit(route: ProviderRoute): { fault: Fault; delayMs: number; ledger: Ledger; announce: (execution: Execution) => Promise<void> } {
    this.requests.set(route, (this.requests.get(route) ?? 0) + 1);
    const fault = pickFault(this.knobs, this.random());
    const run = this.run;
    const announce = (execution: Execution) => {
      const hooks = this.hooks;
      if (run !== this.run || !webhooksOn(hooks)) return Promise.resolve();
      const delivered = run.sender.send(execution, hooks, planDelivery(hooks, this.webhookRandom));
      return hooks.beforeResponse ? delivered : Promise.resolve();
    };
    return { fault, delayMs: delayOf(this.knobs, this.random()), ledger: run.ledger, announce };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const refused = (answer: Answer): Submitted => ({ answer: Promise.resolve(answer), replayed: false });

function idempotencyKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' && key !== '' ? key : undefined;
}

/** The key a request is about: its Idempotency-Key, or the one a lookup names. */
function keyOf(request: FastifyRequest): string | undefined {
  const looked = (request.query as { idempotency_key?: unknown } | undefined)?.idempotency_key;
  return idempotencyKey(request) ?? (typeof looked === 'string' ? looked : undefined);
}

const isAmount = (value: unknown): value is number => Number.isInteger(value) && (value as number) > 0;
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

type Body = Record<string, unknown> | undefined;
type Lookup = { Querystring: { idempotency_key?: unknown } };

export function buildSandbox(options: SandboxOptions = {}): { app: FastifyInstance; state: SandboxState } {
  const app = Fastify({ logger: options.logger ?? false });
  const state = new SandboxState({ ...options.faults }, { ...options.webhooks });
  const connections = new Connections(app.server);
  app.addHook('preClose', async () => {
    connections.cutLingering();
    // Before the server waits for its requests: one awaiting a webhook ends as soon as its send is aborted.
    await state.close();
  });

  /** Applies the request's fault around `handle`, which gets the latency a new execution must wait first. */
  async function serve(route: ProviderRoute, request: FastifyRequest, reply: FastifyReply, handle: (ledger: Ledger, delayMs: number) => Submitted) {
    state.heard(keyOf(request), request.headers.traceparent);
    const { fault, delayMs, ledger, announce } = state.admit(route);
    switch (fault.kind) {
      case 'timeout':
        return connections.hold(request, reply);
      case 'reset':
        await sleep(delayMs);
        return resetConnection(request, reply);
      case 'rate_limit':
        await sleep(delayMs);
        return reply.code(429).header('retry-after', String(fault.retryAfterS)).send(errorAnswer(429, 'rate_limited').body);
      case 'error':
        await sleep(delayMs);
        return reply.code(fault.status).send(errorAnswer(fault.status, 'sandbox_fault', `Injected HTTP ${fault.status}; nothing was executed.`).body);
    }
    const submitted = handle(ledger, delayMs);
    const [answer] = await Promise.all([submitted.answer, sleep(delayMs)]);
    // Only the request that executed announces it: never a replay, a refusal or a fault that executed nothing.
    if (submitted.executes) await announce({ ...submitted.executes, body: answer.body });
    if (fault.kind === 'charge_then_fail') {
      if (fault.mode === 'hang') return connections.hold(request, reply);
      return reply.code(500).send(errorAnswer(500, 'sandbox_fault', 'Injected HTTP 500 after the request was processed.').body);
    }
    if (submitted.replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(answer.status).send(answer.body);
  }

  app.post<{ Body: Body }>('/v1/charges', (request, reply) =>
    serve('POST /v1/charges', request, reply, (ledger, delayMs) => {
      const key = idempotencyKey(request);
      const body = request.body ?? {};
      if (!key) return refused(errorAnswer(400, 'idempotency_key_required'));
      if (!Number.isInteger(body.amount) || typeof body.currency !== 'string' || typeof body.payment_method !== 'string') {
        return refused(errorAnswer(400, 'invalid_request', 'amount, currency and payment_method are required'));
      }
      const charge = { amount: body.amount as number, currency: body.currency, paymentMethod: body.payment_method, reference: body.reference };
      return ledger.charge(key, charge, delayMs);
    }),
  );

  app.post<{ Body: Body }>('/v1/refunds', (request, reply) =>
    serve('POST /v1/refunds', request, reply, (ledger, delayMs) => {
      const key = idempotencyKey(request);
      const body = request.body ?? {};
      if (!key) return refused(errorAnswer(400, 'idempotency_key_required'));
      if (!isText(body.charge) || !isAmount(body.amount) || !isText(body.currency)) {
        return refused(errorAnswer(400, 'invalid_request', 'charge, a positive integer amount and currency are required'));
      }
      return ledger.refund(key, { charge: body.charge, amount: body.amount, currency: body.currency, reference: body.reference }, delayMs);
    }),
  );

  for (const operation of ['charge', 'refund'] as const) {
    const route = `GET /v1/${operation}s` as const;
    app.get<Lookup>(`/v1/${operation}s`, (request, reply) =>
      serve(route, request, reply, (ledger) => {
        const key = request.query.idempotency_key;
        if (!isText(key)) return refused(errorAnswer(400, 'invalid_request', 'idempotency_key is required'));
        const answer = ledger.lookup(key, operation);
        // A lookup reads; it is never marked as a replay.
        return answer ? { answer, replayed: false } : refused(errorAnswer(404, 'resource_missing'));
      }),
    );
  }

  app.get<{ Querystring: { key?: string } }>('/__sandbox/executions', async (request) => {
    const key = request.query.key;
    if (key !== undefined) return { key, executions: state.executions.get(key) ?? 0 };
    return { executions: Object.fromEntries(state.executions), total: [...state.executions.values()].reduce((a, b) => a + b, 0) };
  });

  app.get('/__sandbox/requests', async () => ({
    total: [...state.requests.values()].reduce((a, b) => a + b, 0),
    by_route: Object.fromEntries(state.requests),
  }));

  const config = () => ({ ...faultsToJson(state.faults), ...webhooksToJson(state.webhooks) });

  app.get('/__sandbox/config', async () => config());

  app.post<{ Body: unknown }>('/__sandbox/config', async (request, reply) => {
    try {
      const body = request.body ?? {};
      // faultsFromJson checks that the body is an object before webhooksFromJson reads it.
      const faults = faultsFromJson(body, WEBHOOK_FIELDS);
      state.configure(faults, webhooksFromJson(body as Record<string, unknown>));
    } catch (error) {
      if (!(error instanceof KnobError)) throw error;
      return reply.code(400).send(errorAnswer(400, 'invalid_request', error.message).body);
    }
    return config();
  });

  app.get('/__sandbox/webhooks', async () => state.deliveries);

  app.post('/__sandbox/reset', async () => {
    state.reset();
    return { reset: true };
  });

  return { app, state };
}
