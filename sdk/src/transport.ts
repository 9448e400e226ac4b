import createClient, { type Client } from 'openapi-fetch';
import { IdempayConnectionError, IdempayError } from './errors.js';
import type { paths } from './generated/v1.js';
import { isRetryableStatus, retryAfterMs, retryDelay } from './retry.js';
import type { IdempayOptions, LastResponse, Problem, WithLastResponse } from './types.js';
import { SDK_VERSION } from './version.js';

export interface Call {
  method: string;
  path: string;
  idempotencyKey: string | null;
}

/** One HTTP attempt through the typed client, cut off by `signal` when it takes too long. */
export type Attempt<T> = (signal: AbortSignal) => Promise<{ data?: T; error?: unknown; response: Response }>;

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function asProblem(body: unknown): Problem | null {
  return typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string' ? (body as Problem) : null;
}

function describe(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends calls with the API key, a per-attempt timeout, and retries that keep the call's Idempotency-Key. */
export class Transport {
  readonly client: Client<paths>;
  private readonly maxRetries: number;
  private readonly backoff: { retryBaseDelayMs: number; retryMaxDelayMs: number };
  private readonly timeoutMs: number;
  private readonly random: () => number;

  constructor(options: IdempayOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new TypeError('apiKey is required');
    if (!URL.canParse(options.baseUrl)) throw new TypeError(`baseUrl is not a URL: ${options.baseUrl}`);
    this.maxRetries = nonNegativeInteger('maxRetries', options.maxRetries ?? 2);
    this.backoff = {
      retryBaseDelayMs: nonNegativeInteger('retryBaseDelayMs', options.retryBaseDelayMs ?? 500),
      retryMaxDelayMs: nonNegativeInteger('retryMaxDelayMs', options.retryMaxDelayMs ?? 8000),
    };
    this.timeoutMs = nonNegativeInteger('timeoutMs', options.timeoutMs ?? 30_000);
    if (this.timeoutMs === 0) throw new RangeError('timeoutMs must be positive');
    this.random = options.random ?? Math.random;
    this.client = createClient<paths>({
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      headers: { authorization: `Bearer ${options.apiKey}`, 'user-agent': `idempay-sdk/${SDK_VERSION}` },
    });
  }

  async send<T extends object>(call: Call, attempt: Attempt<T>): Promise<WithLastResponse<T>> {
    for (let attempts = 1; ; attempts++) {
      let failure: IdempayError | IdempayConnectionError;
      let retryable = true;
      let serverDelayMs: number | null = null;
      try {
        const { data, error, response } = await attempt(AbortSignal.timeout(this.timeoutMs));
        if (response.ok) {
          if (typeof data !== 'object' || data === null) throw new TypeError(`${call.method} ${call.path} answered ${response.status} without a JSON body`);
          return this.withLastResponse(data, response, call, attempts);
        }
        const problem = asProblem(error);
        failure = new IdempayError({
          status: response.status,
          problem,
          traceId: response.headers.get('trace-id') ?? problem?.trace_id ?? null,
          idempotencyKey: call.idempotencyKey,
          attempts,
          fallbackMessage: `${call.method} ${call.path} answered HTTP ${response.status}`,
        });
        retryable = isRetryableStatus(response.status, problem);
        serverDelayMs = retryAfterMs(response.headers);
      } catch (cause) {
        failure = new IdempayConnectionError(
          `${call.method} ${call.path} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describe(cause, this.timeoutMs)}`,
          { cause, idempotencyKey: call.idempotencyKey, attempts },
        );
      }
      const delay = retryable && attempts <= this.maxRetries ? retryDelay(attempts - 1, serverDelayMs, this.backoff, this.random) : null;
      if (delay === null) throw failure;
      await sleep(delay);
    }
  }

  private withLastResponse<T extends object>(data: T, response: Response, call: Call, attempts: number): WithLastResponse<T> {
    const lastResponse: LastResponse = {
      status: response.status,
      headers: response.headers,
      traceId: response.headers.get('trace-id'),
      idempotencyKey: call.idempotencyKey,
      replayed: response.headers.get('idempotent-replayed') === 'true',
      attempts,
    };
    return Object.defineProperty(data, 'lastResponse', { value: lastResponse, enumerable: false }) as WithLastResponse<T>;
  }
}
