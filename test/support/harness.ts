import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { inject } from 'vitest';
import { type AppOptions, createApp } from '../../src/app.js';
import { MerchantsService, type CreatedMerchant } from '../../src/auth/merchants.service.js';
import { type AppConfig, loadConfig } from '../../src/config/app-config.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { KillSwitch } from '../../src/provider/kill-switch.js';
import { ProviderSettingsRepository } from '../../src/provider/provider-settings.repository.js';
import { buildSandbox, type SandboxState } from '../../src/sandbox-provider/sandbox-server.js';
import { SpecValidator } from './spec-validator.js';

export interface Stack {
  app: NestFastifyApplication;
  baseUrl: string;
  sandboxUrl: string;
  sandbox: SandboxState;
  /** Live mode's provider: a second sandbox, when the stack was started with `{ live: true }`. */
  live?: { url: string; state: SandboxState };
  db: DataSource;
  config: AppConfig;
  close(): Promise<void>;
}

export const HOUR = 3_600_000;

/** A rate limit budget no test reaches (the most RATE_LIMIT_WRITES and RATE_LIMIT_READS accept). */
export const UNREFUSING_RATE_LIMIT = 1_000_000;

/** A lease of a second, for tests that wait one out, and the budgets and database timeouts that must fit in it. */
export const SHORT_LEASE = {
  idempotencyLeaseMs: 1_000,
  requestBudgetMs: 900,
  providerBudgetMs: 800,
  databaseStatementTimeoutMs: 900,
  databaseLockTimeoutMs: 500,
  databaseIdleInTransactionTimeoutMs: 900,
} as const;

/** SHORT_LEASE for a child server's environment. */
export const SHORT_LEASE_ENV = {
  IDEMPOTENCY_LEASE_MS: '1000',
  REQUEST_BUDGET_MS: '900',
  PROVIDER_BUDGET_MS: '800',
  DATABASE_STATEMENT_TIMEOUT_MS: '900',
  DATABASE_LOCK_TIMEOUT_MS: '500',
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '900',
} as const;

async function listeningSandbox() {
  const sandbox = buildSandbox();
  await sandbox.app.listen({ port: 0, host: '127.0.0.1' });
  const address = sandbox.app.server.address();
  return { ...sandbox, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

export interface StackOptions extends AppOptions {
  /** A second sandbox standing in for live mode's provider. */
  live?: boolean;
}

/**
 * The API in-process on a real port, on the test database, with its own sandbox provider over HTTP
 * for test mode, and with `{ live: true }` a second sandbox standing in for live mode's provider.
 * Its log goes to stdout at LOG_LEVEL error unless `logStream` (and a `logLevel` override) says otherwise.
 */
export async function startStack(overrides: Partial<AppConfig> = {}, { live = false, ...appOptions }: StackOptions = {}): Promise<Stack> {
  const sandbox = await listeningSandbox();
  const liveSandbox = live ? await listeningSandbox() : undefined;
  const sandboxUrl = sandbox.url;
  const config = loadConfig(
    { LOG_LEVEL: 'error' },
    {
      databaseUrl: inject('databaseUrl'),
      sandboxUrl,
      providerUrl: liveSandbox?.url,
      port: 0,
      // The tests send far faster than a merchant may: the limiter runs on every request, but only
      // a test that sets its budgets (rate-limit.test.ts) is refused by it.
      rateLimitWrites: UNREFUSING_RATE_LIMIT,
      rateLimitReads: UNREFUSING_RATE_LIMIT,
      // The background tasks are run by the tests themselves, so each pass is deterministic.
      completerIntervalMs: HOUR,
      sweeperIntervalMs: HOUR,
      jobsEnabled: false,
      ...overrides,
    },
  );
  const app = await createApp(config, appOptions);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    baseUrl,
    sandboxUrl,
    sandbox: sandbox.state,
    live: liveSandbox && { url: liveSandbox.url, state: liveSandbox.state },
    db: app.get(DataSource),
    config,
    async close() {
      await app.close();
      await sandbox.app.close();
      await liveSandbox?.app.close();
    },
  };
}

/** Empty tables and a fresh, fast sandbox: each test starts from nothing. */
export async function resetStack(stack: Stack): Promise<void> {
  // A stack started with jobs keeps relaying and delivering, and its transactions take the locks
  // TRUNCATE needs in another order: when Postgres ends a deadlock by failing the TRUNCATE, it is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      // The app's statement and lock timeouts are for requests, not for emptying every table.
      await stack.db.transaction(async (m) => {
        await m.query('SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0');
        await m.query('TRUNCATE inbox_events, webhook_delivery_attempts, webhook_deliveries, webhook_endpoint_secrets, webhook_endpoints, events, provider_attempts, payment_transitions, refunds, payments, idempotency_keys, api_keys, merchants, provider_settings RESTART IDENTITY CASCADE');
      });
      break;
    } catch (error) {
      if (attempt === 5 || (error as { driverError?: { code?: string } }).driverError?.code !== '40P01') throw error;
    }
  }
  stack.sandbox.reset();
  stack.live?.state.reset();
}

export function createMerchant(stack: Stack, name = 'Test merchant'): Promise<CreatedMerchant> {
  return stack.app.get(MerchantsService).create(name);
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface RequestOptions {
  /** false for a server that is not this API (the sandbox provider), whose answers the spec does not describe. */
  spec?: boolean;
  key?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  /** Sent as is instead of JSON-encoding `body`. */
  raw?: string;
}

export async function call(baseUrl: string, method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (options.spec !== false) {
    const problems = specFor(path).check(method, path, response.status, response.headers, text);
    if (problems.length > 0) throw new Error(`the answer breaks the contract:\n  ${problems.join('\n  ')}\n${text}`);
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

const v1 = new SpecValidator('openapi/v1.yaml');
const v2 = new SpecValidator('openapi/v2.yaml');

/** Every answer of the API in the e2e tests is checked against the spec of its version. */
function specFor(path: string): SpecValidator {
  return path.startsWith('/v2/') ? v2 : v1;
}

export const visa = { amount: 5000, currency: 'eur', payment_method: 'pm_card_visa' };

/** How many charges the sandbox really executed for a payment. */
export function chargesFor(stack: Stack, paymentId: string): number {
  return stack.sandbox.executions.get(chargeKeyOf(paymentId)) ?? 0;
}

export function totalCharges(stack: Stack): number {
  return [...stack.sandbox.executions.values()].reduce((a, b) => a + b, 0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Flips the kill switch in the database and waits until this app's switch sees it: the app learns of
 * a change through a notification (within a second on every instance), not at the moment it is written.
 */
export async function setProviderEnabled(stack: Stack, provider: string, enabled: boolean, reason: string | null = null): Promise<void> {
  await stack.app.get(ProviderSettingsRepository).setEnabled(provider, enabled, reason);
  const deadline = Date.now() + 2_000;
  while ((await stack.app.get(KillSwitch).isEnabled(provider)) !== enabled) {
    if (Date.now() > deadline) throw new Error(`the kill switch of ${provider} did not turn ${enabled ? 'on' : 'off'} within 2 s`);
    await sleep(10);
  }
}
