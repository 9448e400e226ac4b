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
 * Test routes: `GET /__sandbox/executions[?key=]`, `GET /__sandbox/requests`, `GET|POST /__sandbox/config`
 * (the knobs of faults.ts, partial updates), `POST /__sandbox/reset` (state and knobs back to defaults).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Connections, resetConnection } from './connections.js';
import {
  applyFaults,
  defaultFaults,
  delayOf,
  type Fault,
  FaultsError,
  faultsFromJson,
  faultsToJson,
  pickFault,
  type SandboxFaults,
} from './faults.js';
import { type Answer, errorAnswer, Ledger, type Submitted } from './ledger.js';
import { mulberry32, type Random } from './random.js';

export type { ChargeThenFailMode, Fault, SandboxFaults } from './faults.js';
export { faultsFromEnv } from './faults.js';
export type { ChargeRecord } from './ledger.js';

export interface SandboxOptions {
  /** Knobs at start; the rest default to no faults. */
  faults?: Partial<SandboxFaults>;
  logger?: boolean | { level: string };
}

export const PROVIDER_ROUTES = ['POST /v1/charges', 'GET /v1/charges', 'POST /v1/refunds', 'GET /v1/refunds'] as const;
export type ProviderRoute = (typeof PROVIDER_ROUTES)[number];

export class SandboxState {
  /** Requests that reached each provider route, faulted ones included. */
  readonly requests = new Map<ProviderRoute, number>(PROVIDER_ROUTES.map((route) => [route, 0]));
  // Replaced on reset, so an execution still running from before a reset cannot write into the new state.
  private ledger = new Ledger();
  private knobs: SandboxFaults;
  private random: Random;

  constructor(faults: Partial<SandboxFaults> = {}) {
    this.knobs = applyFaults(defaultFaults(), faults);
    this.random = mulberry32(this.knobs.seed);
  }

  /** The knobs in force; change them with `configure`. */
  get faults(): Readonly<SandboxFaults> {
    return this.knobs;
  }

  /** Real executions per idempotency key, charges and refunds alike. */
  get executions(): Map<string, number> {
    return this.ledger.executions;
  }

  /** Executed charges by id, with how much of each is refunded. */
  get charges(): Ledger['charges'] {
    return this.ledger.charges;
  }

  get byKey(): Ledger['byKey'] {
    return this.ledger.byKey;
  }

  get latencyMs(): number {
    return this.knobs.latencyMs;
  }

  set latencyMs(ms: number) {
    this.configure({ latencyMs: ms });
  }

  /** Applies the given knobs (all or nothing; throws FaultsError on a bad value). A seed restarts the draws. */
  configure(patch: Partial<SandboxFaults>): void {
    this.knobs = applyFaults(this.knobs, patch);
    if (patch.seed !== undefined) this.random = mulberry32(this.knobs.seed);
  }

  /** Forgets every key, charge, refund and count, and puts the knobs back to their defaults. */
  reset(): void {
    this.ledger = new Ledger();
    this.knobs = defaultFaults();
    this.random = mulberry32(this.knobs.seed);
    for (const route of PROVIDER_ROUTES) this.requests.set(route, 0);
  }

  /** Counts a request and draws its fault and latency: always two draws, so the faults' sequence for a seed does not depend on the jitter. */
  admit(route: ProviderRoute): { fault: Fault; delayMs: number; ledger: Ledger } {
    this.requests.set(route, (this.requests.get(route) ?? 0) + 1);
    const fault = pickFault(this.knobs, this.random());
    return { fault, delayMs: delayOf(this.knobs, this.random()), ledger: this.ledger };
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

const isAmount = (value: unknown): value is number => Number.isInteger(value) && (value as number) > 0;
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

type Body = Record<string, unknown> | undefined;
type Lookup = { Querystring: { idempotency_key?: unknown } };

export function buildSandbox(options: SandboxOptions = {}): { app: FastifyInstance; state: SandboxState } {
  const app = Fastify({ logger: options.logger ?? false });
  const state = new SandboxState({ ...options.faults });
  const connections = new Connections(app.server);
  app.addHook('preClose', (done) => {
    connections.cutLingering();
    done();
  });

  /** Applies the request's fault around `handle`, which gets the latency a new execution must wait first. */
  async function serve(route: ProviderRoute, request: FastifyRequest, reply: FastifyReply, handle: (ledger: Ledger, delayMs: number) => Submitted) {
    const { fault, delayMs, ledger } = state.admit(route);
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

  app.get('/__sandbox/config', async () => faultsToJson(state.faults));

  app.post<{ Body: unknown }>('/__sandbox/config', async (request, reply) => {
    try {
      state.configure(faultsFromJson(request.body ?? {}));
    } catch (error) {
      if (!(error instanceof FaultsError)) throw error;
      return reply.code(400).send(errorAnswer(400, 'invalid_request', error.message).body);
    }
    return faultsToJson(state.faults);
  });

  app.post('/__sandbox/reset', async () => {
    state.reset();
    return { reset: true };
  });

  return { app, state };
}
