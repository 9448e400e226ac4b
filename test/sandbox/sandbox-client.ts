/** A sandbox provider on a loopback port and a plain-fetch client for it that reports timeouts and cut connections as outcomes. */
import { buildSandbox, type SandboxOptions, type SandboxState } from '../../src/sandbox-provider/sandbox-server.js';

export interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** `timeout`: the client gave up; `network`: the connection failed or was cut without an answer. */
export type Outcome = Answer | { failed: 'timeout' | 'network' };

export interface SendOptions {
  body?: unknown;
  idempotencyKey?: string;
  timeoutMs?: number;
}

export interface Sandbox {
  url: string;
  state: SandboxState;
  send(method: string, path: string, options?: SendOptions): Promise<Outcome>;
  /** `send` for a request that must be answered. */
  request(method: string, path: string, options?: SendOptions): Promise<Answer>;
  charge(key: string, body?: Record<string, unknown>, timeoutMs?: number): Promise<Outcome>;
  refund(key: string, body: Record<string, unknown>, timeoutMs?: number): Promise<Outcome>;
  lookup(operation: 'charges' | 'refunds', key: string): Promise<Answer>;
  configure(knobs: Record<string, unknown>): Promise<Answer>;
  executions(key: string): number;
  close(): Promise<void>;
}

export const visa = { amount: 1000, currency: 'eur', payment_method: 'pm_card_visa' };

export function answered(outcome: Outcome): Answer {
  if ('failed' in outcome) throw new Error(`expected an answer, the request failed: ${outcome.failed}`);
  return outcome;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { app, state } = buildSandbox(options);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });

  async function send(method: string, path: string, options: SendOptions = {}): Promise<Outcome> {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    try {
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') return { failed: 'timeout' };
      if (error instanceof TypeError) return { failed: 'network' };
      throw error;
    }
  }

  return {
    url,
    state,
    send,
    request: async (method, path, options) => answered(await send(method, path, options)),
    charge: (key, body = visa, timeoutMs) => send('POST', '/v1/charges', { body, idempotencyKey: key, timeoutMs }),
    refund: (key, body, timeoutMs) => send('POST', '/v1/refunds', { body, idempotencyKey: key, timeoutMs }),
    lookup: async (operation, key) => answered(await send('GET', `/v1/${operation}?idempotency_key=${encodeURIComponent(key)}`)),
    configure: async (knobs) => answered(await send('POST', '/__sandbox/config', { body: knobs })),
    executions: (key) => state.executions.get(key) ?? 0,
    close: () => app.close(),
  };
}
