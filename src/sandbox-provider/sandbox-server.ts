/**
 * The sandbox payment provider: a small Fastify app reached only over HTTP, the way a real provider
 * would be. It honours the idempotency key it is sent, and counts the charges it really executed per
 * key so tests can assert "exactly one". It imports nothing of the API's code on purpose.
 */
import { createHash, randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';

export interface SandboxOptions {
  /** Added to every charge before it answers, in milliseconds. */
  latencyMs?: number;
  logger?: boolean;
}

interface ChargeAnswer {
  status: number;
  body: Record<string, unknown>;
}

interface KeyRecord {
  fingerprint: string;
  answer: Promise<ChargeAnswer>;
}

const OUTCOMES: Record<string, { failure_code: string; failure_message: string } | null> = {
  pm_card_visa: null,
  pm_card_mastercard: null,
  pm_card_amex: null,
  pm_card_declined: { failure_code: 'card_declined', failure_message: 'Your card was declined.' },
  pm_card_insufficient_funds: { failure_code: 'insufficient_funds', failure_message: 'Your card has insufficient funds.' },
  pm_card_expired: { failure_code: 'expired_card', failure_message: 'Your card has expired.' },
};

const UNKNOWN_METHOD = { failure_code: 'invalid_payment_method', failure_message: 'No such payment method.' };

export class SandboxState {
  latencyMs: number;
  readonly byKey = new Map<string, KeyRecord>();
  readonly executions = new Map<string, number>();

  constructor(options: SandboxOptions) {
    this.latencyMs = options.latencyMs ?? 0;
  }

  reset(): void {
    this.byKey.clear();
    this.executions.clear();
  }
}

function chargeId(): string {
  return `ch_${randomBytes(12).toString('hex')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function buildSandbox(options: SandboxOptions = {}): { app: FastifyInstance; state: SandboxState } {
  const app = Fastify({ logger: options.logger ?? false });
  const state = new SandboxState(options);

  async function execute(key: string, body: Record<string, unknown>): Promise<ChargeAnswer> {
    await sleep(state.latencyMs);
    state.executions.set(key, (state.executions.get(key) ?? 0) + 1);
    const method = String(body.payment_method);
    const failure = method in OUTCOMES ? OUTCOMES[method] : UNKNOWN_METHOD;
    return {
      status: 200,
      body: {
        id: chargeId(),
        object: 'charge',
        amount: body.amount,
        currency: body.currency,
        reference: body.reference ?? null,
        status: failure ? 'failed' : 'succeeded',
        failure_code: failure?.failure_code ?? null,
        failure_message: failure?.failure_message ?? null,
      },
    };
  }

  app.post<{ Body: Record<string, unknown> }>('/v1/charges', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const body = request.body ?? {};
    if (typeof key !== 'string' || key === '') {
      return reply.code(400).send({ error: { code: 'idempotency_key_required' } });
    }
    if (!Number.isInteger(body.amount) || typeof body.currency !== 'string' || typeof body.payment_method !== 'string') {
      return reply.code(400).send({ error: { code: 'invalid_request', message: 'amount, currency and payment_method are required' } });
    }
    const fingerprint = createHash('sha256').update(JSON.stringify([body.amount, body.currency, body.payment_method])).digest('hex');
    let record = state.byKey.get(key);
    if (record && record.fingerprint !== fingerprint) {
      return reply.code(409).send({ error: { code: 'idempotency_key_reused' } });
    }
    const replayed = record !== undefined;
    if (!record) {
      // Stored before it runs, so a concurrent request with the same key waits for this execution.
      record = { fingerprint, answer: execute(key, body) };
      state.byKey.set(key, record);
    }
    const answer = await record.answer;
    if (replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(answer.status).send(answer.body);
  });

  app.get<{ Querystring: { key?: string } }>('/__sandbox/executions', async (request) => {
    const key = request.query.key;
    if (key !== undefined) return { key, executions: state.executions.get(key) ?? 0 };
    return { executions: Object.fromEntries(state.executions), total: [...state.executions.values()].reduce((a, b) => a + b, 0) };
  });

  app.post<{ Body: { latency_ms?: number } }>('/__sandbox/config', async (request, reply) => {
    const latency = request.body?.latency_ms;
    if (latency !== undefined && (!Number.isInteger(latency) || latency < 0)) {
      return reply.code(400).send({ error: { code: 'invalid_request', message: 'latency_ms must be a non-negative integer' } });
    }
    if (latency !== undefined) state.latencyMs = latency;
    return { latency_ms: state.latencyMs };
  });

  app.post('/__sandbox/reset', async () => {
    state.reset();
    return { reset: true };
  });

  return { app, state };
}
