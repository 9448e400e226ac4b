import { readFileSync } from 'node:fs';

/**
 * Typed configuration, read once from the environment and validated at boot: a bad value stops the
 * process with a message naming the variable, instead of surfacing later as odd behaviour.
 */
export const CRASH_POINTS = ['claimed', 'payment_created', 'provider_called'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export class AppConfig {
  readonly host: string;
  readonly port: number;
  /** Unset: `npm start` runs an embedded Postgres in `embeddedPgDir`. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  /** Set on every connection of the app, all below the lease, so a stuck or paused process cannot hold locks for long. */
  readonly databaseStatementTimeoutMs: number;
  readonly databaseLockTimeoutMs: number;
  readonly databaseIdleInTransactionTimeoutMs: number;
  /** Waiting for a connection from the pool (or for a new one to open). */
  readonly databasePoolTimeoutMs: number;
  /** API keys kept in memory per process (the least recently used go first); 0 reads Postgres on every request. */
  readonly apiKeyCacheEntries: number;
  readonly embeddedPgDir: string;
  readonly embeddedPgPort: number;
  /** Test mode's provider. Unset: the sandbox provider is started in-process on `sandboxPort`. */
  readonly sandboxUrl: string | undefined;
  /** Live mode's provider, and nothing else's. Unset: live payments and refunds are refused. */
  readonly providerUrl: string | undefined;
  /** The live provider's name, for the kill switch and the attempt records. */
  readonly providerName: string;
  /** The whole create/refund request must answer inside this; the provider's budget ends before it. */
  readonly requestBudgetMs: number;
  /** All attempts of one provider call, backoff included, end inside this. */
  readonly providerBudgetMs: number;
  /** One attempt. */
  readonly providerTimeoutMs: number;
  readonly providerMaxRetries: number;
  readonly providerRetryBaseMs: number;
  readonly providerRetryMaxMs: number;
  readonly breakerConsecutiveFailures: number;
  readonly breakerFailureRatio: number;
  readonly breakerWindowSize: number;
  readonly breakerMinimumCalls: number;
  readonly breakerHalfOpenAfterMs: number;
  readonly bulkheadLimit: number;
  readonly bulkheadQueue: number;
  /** The most of one bulkhead (in flight and queued) a single merchant may hold. */
  readonly bulkheadMerchantShare: number;
  readonly reconcileBaseMs: number;
  readonly reconcileMaxMs: number;
  /** pg-boss and the reconciler job; the tests run the reconciler themselves. */
  readonly jobsEnabled: boolean;
  readonly sandboxPort: number;
  readonly idempotencyLeaseMs: number;
  readonly idempotencyTtlHours: number;
  readonly completerIntervalMs: number;
  readonly sweeperIntervalMs: number;
  readonly sweeperBatchSize: number;
  /** Memory for finished keys' answers, so most replays need no query; 0 turns it off. */
  readonly replayCacheMaxBytes: number;
  readonly bodyLimitBytes: number;
  /** Receiving one request (headers and body; not its handling), its headers, and an idle keep-alive connection. */
  readonly httpRequestTimeoutMs: number;
  readonly httpHeadersTimeoutMs: number;
  readonly httpKeepAliveTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: string;
  /** `pretty` (pino-pretty, for a terminal) or `json`; unset, `npm start` picks pretty on a TTY and JSON otherwise. */
  readonly logFormat: 'json' | 'pretty' | undefined;
  /** Spans are exported over OTLP/HTTP here when set; unset, tracing is a no-op. */
  readonly otelExporterOtlpEndpoint: string | undefined;
  readonly otelServiceName: string;
  /** `/metrics` answers only with `Authorization: Bearer <token>`; unset (and no METRICS_PORT), it is not served. */
  readonly metricsToken: string | undefined;
  /** When set, `/metrics` is served on its own port (keep it off the public network) instead of the API's. */
  readonly metricsPort: number | undefined;
  /** Per API key and window: writes (POST/PATCH/DELETE) and reads (GET) have separate budgets; 0 turns one off. */
  readonly rateLimitWrites: number;
  readonly rateLimitReads: number;
  readonly rateLimitWindowMs: number;
  /** Shared state across instances (the rate limit's budgets); unset, each process keeps its own in memory. */
  readonly redisUrl: string | undefined;
  /** Starts every key this process writes to Redis, so several deployments (or test runs) can share one Redis. */
  readonly redisKeyPrefix: string;
  /** Origins a browser may call the API from; empty, no CORS headers at all. */
  readonly corsOrigins: string[];
  /** `Strict-Transport-Security` max-age on every answer (with includeSubDomains); 0 sends no HSTS header. */
  readonly hstsMaxAgeSeconds: number;
  /** The operator console's login; unset, `/console` is not served. */
  readonly adminToken: string | undefined;
  readonly consoleSessionTtlMs: number;
  /** When set, every /v1 answer carries `Deprecation` (RFC 9745) and, with a sunset, `Sunset` (RFC 8594). */
  readonly v1DeprecatedAt: Date | undefined;
  readonly v1SunsetAt: Date | undefined;
  /** Secrets the test-mode sandbox signs its webhooks with (two during a rotation). Empty: its webhooks are refused. */
  readonly sandboxWebhookSecrets: string[];
  /** The same for the live provider, named `providerName` in `/provider-webhooks/{provider}`. */
  readonly providerWebhookSecrets: string[];
  /** A provider webhook's timestamp may be this far from now, either way. */
  readonly webhookToleranceSeconds: number;
  /** Tries to apply one provider event before it is `dead` (re-drivable from the CLI). */
  readonly inboxMaxAttempts: number;
  /** The wait after a provider event's failed try: base · 2^tries, capped at the max, jittered. */
  readonly inboxRetryBaseMs: number;
  readonly inboxRetryMaxMs: number;
  /** How often each instance (with jobs on) applies provider events that are due: retries, redriven ones, lost jobs. */
  readonly inboxSweepIntervalMs: number;
  /** The delay before the 2nd, 3rd, … delivery attempt of a merchant webhook (the 1st is at once). */
  readonly webhookRetryScheduleMs: number[];
  /** One delivery attempt, connection to last byte. */
  readonly webhookAttemptTimeoutMs: number;
  /** How long a rotated-out endpoint secret still signs beside the new one. */
  readonly webhookSecretGraceMs: number;
  /** An endpoint whose deliveries have failed without a success for this long is disabled. */
  readonly webhookDisableAfterMs: number;
  /** Hosts an endpoint may name over plain http or on loopback/private addresses (the local demo only). */
  readonly webhookAllowedHosts: string[];
  /** How often each instance looks for events to fan out and deliveries that are due. */
  readonly webhookPollIntervalMs: number;
  /** Test-only fault injection: the process kills itself (SIGKILL) when it reaches this point. */
  readonly crashAt: CrashPoint | undefined;

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}

class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function ratio(env: NodeJS.ProcessEnv, name: string, fallback: number, { upToOne = false } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 1 || (value === 1 && !upToOne)) {
    throw new ConfigError(`${name} must be a number above 0 and ${upToOne ? 'at most' : 'below'} 1, got "${raw}"`);
  }
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}`);
  }
  return raw;
}

function date(env: NodeJS.ProcessEnv, name: string): Date | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = new Date(raw);
  if (Number.isNaN(value.getTime())) throw new ConfigError(`${name} must be an ISO 8601 date such as 2027-06-30, got "${raw}"`);
  return value;
}

/** A short identifier (a provider's name in the kill switch and the attempt records). */
function name(env: NodeJS.ProcessEnv, key: string, fallback: string): string {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[a-z][a-z0-9_-]{0,39}$/.test(raw)) throw new ConfigError(`${key} must be 1 to 40 lowercase letters, digits, "-" or "_", starting with a letter`);
  return raw;
}

/** A comma-separated list; empty items are dropped. */
function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/** Secrets from NAME (comma-separated) or from the file NAME_FILE names (one per line), never both. */
function secrets(env: NodeJS.ProcessEnv, name: string): string[] {
  const file = env[`${name}_FILE`];
  if (file && env[name]) throw new ConfigError(`set ${name} or ${name}_FILE, not both`);
  if (!file) return list(env, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${name}_FILE names a file that cannot be read`);
  }
  return text.split(/[\r\n,]+/).map((item) => item.trim()).filter((item) => item !== '');
}

/** One secret from NAME or NAME_FILE; a token shorter than 16 characters is refused as guessable. */
function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const values = secrets(env, name);
  if (values.length > 1) throw new ConfigError(`${name} must be one value`);
  if (values[0] !== undefined && values[0].length < 16) throw new ConfigError(`${name} must be at least 16 characters`);
  return values[0];
}

/** Browser origins (`https://shop.example.com`, no path), compared exactly; `*` is refused: a secret key is never for any site. */
function origins(env: NodeJS.ProcessEnv, name: string): string[] {
  return list(env, name).map((raw) => {
    let origin: string | undefined;
    try {
      origin = new URL(raw).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== raw || !/^https?:/.test(raw)) {
      throw new ConfigError(`${name} must list origins such as https://shop.example.com (scheme, host and port only), got "${raw}"`);
    }
    return origin;
  });
}

function durations(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const items = list(env, name);
  if (items.length === 0) return fallback;
  const values = items.map(Number);
  if (values.some((ms) => !Number.isInteger(ms) || ms < 0 || ms > 7 * 24 * 3_600_000)) {
    throw new ConfigError(`${name} must be comma-separated integers of milliseconds from 0 to a week`);
  }
  return values;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!allowed.includes(raw as T)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}`);
  return raw as T;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const crashAt = oneOf(env, 'IDEMPAY_CRASH_AT', CRASH_POINTS);
  if (crashAt && env.NODE_ENV === 'production') {
    throw new ConfigError('IDEMPAY_CRASH_AT is a test-only fault and is refused when NODE_ENV=production');
  }
  const v1DeprecatedAt = date(env, 'API_V1_DEPRECATED_AT');
  const v1SunsetAt = date(env, 'API_V1_SUNSET_AT');
  if (v1SunsetAt && !v1DeprecatedAt) throw new ConfigError('API_V1_SUNSET_AT needs API_V1_DEPRECATED_AT: a version is deprecated before it is sunset');
  if (v1SunsetAt && v1DeprecatedAt && v1SunsetAt < v1DeprecatedAt) throw new ConfigError('API_V1_SUNSET_AT must not be before API_V1_DEPRECATED_AT');
  const httpRequestTimeoutMs = int(env, 'HTTP_REQUEST_TIMEOUT_MS', 15_000, 100, 600_000);
  const config = new AppConfig({
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 3000, 0, 65535),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 500),
    databaseStatementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5_000, 100, 600_000),
    databaseLockTimeoutMs: int(env, 'DATABASE_LOCK_TIMEOUT_MS', 2_000, 100, 600_000),
    databaseIdleInTransactionTimeoutMs: int(env, 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 5_000, 100, 600_000),
    databasePoolTimeoutMs: int(env, 'DATABASE_POOL_TIMEOUT_MS', 2_000, 100, 600_000),
    apiKeyCacheEntries: int(env, 'API_KEY_CACHE_ENTRIES', 10_000, 0, 1_000_000),
    embeddedPgDir: env.EMBEDDED_PG_DIR || '.data/postgres',
    embeddedPgPort: int(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
    sandboxUrl: url(env, 'SANDBOX_URL', ['http:', 'https:']),
    providerUrl: url(env, 'PROVIDER_URL', ['http:', 'https:']),
    providerName: name(env, 'PROVIDER_NAME', 'provider'),
    requestBudgetMs: int(env, 'REQUEST_BUDGET_MS', 10_000, 100, 600_000),
    providerBudgetMs: int(env, 'PROVIDER_BUDGET_MS', 8_000, 50, 600_000),
    providerTimeoutMs: int(env, 'PROVIDER_TIMEOUT_MS', 3_000, 10, 120_000),
    providerMaxRetries: int(env, 'PROVIDER_MAX_RETRIES', 2, 0, 2),
    providerRetryBaseMs: int(env, 'PROVIDER_RETRY_BASE_MS', 100, 1, 60_000),
    providerRetryMaxMs: int(env, 'PROVIDER_RETRY_MAX_MS', 2_000, 1, 60_000),
    breakerConsecutiveFailures: int(env, 'BREAKER_CONSECUTIVE_FAILURES', 5, 1, 1_000),
    breakerFailureRatio: ratio(env, 'BREAKER_FAILURE_RATIO', 0.5),
    breakerWindowSize: int(env, 'BREAKER_WINDOW_SIZE', 20, 2, 10_000),
    breakerMinimumCalls: int(env, 'BREAKER_MINIMUM_CALLS', 10, 1, 10_000),
    breakerHalfOpenAfterMs: int(env, 'BREAKER_HALF_OPEN_AFTER_MS', 5_000, 10, 600_000),
    bulkheadLimit: int(env, 'BULKHEAD_LIMIT', 64, 1, 10_000),
    bulkheadQueue: int(env, 'BULKHEAD_QUEUE', 64, 0, 100_000),
    bulkheadMerchantShare: ratio(env, 'BULKHEAD_MERCHANT_SHARE', 0.5, { upToOne: true }),
    reconcileBaseMs: int(env, 'RECONCILE_BASE_MS', 2_000, 10, 3_600_000),
    reconcileMaxMs: int(env, 'RECONCILE_MAX_MS', 300_000, 10, 86_400_000),
    jobsEnabled: bool(env, 'JOBS_ENABLED', true),
    sandboxPort: int(env, 'SANDBOX_PORT', 4010, 0, 65535),
    idempotencyLeaseMs: int(env, 'IDEMPOTENCY_LEASE_MS', 30_000, 100, 3_600_000),
    idempotencyTtlHours: int(env, 'IDEMPOTENCY_TTL_HOURS', 24, 1, 24 * 30),
    completerIntervalMs: int(env, 'COMPLETER_INTERVAL_MS', 5_000, 50, 3_600_000),
    sweeperIntervalMs: int(env, 'SWEEPER_INTERVAL_MS', 60_000, 50, 86_400_000),
    sweeperBatchSize: int(env, 'SWEEPER_BATCH_SIZE', 1_000, 1, 100_000),
    replayCacheMaxBytes: int(env, 'REPLAY_CACHE_MAX_BYTES', 64 * 1024 * 1024, 0, 16 * 1024 * 1024 * 1024),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    httpRequestTimeoutMs,
    httpHeadersTimeoutMs: int(env, 'HTTP_HEADERS_TIMEOUT_MS', Math.min(10_000, httpRequestTimeoutMs), 100, 600_000),
    httpKeepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000),
    // Above the default REQUEST_BUDGET_MS, so a request that started just before SIGTERM can finish.
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 15_000, 0, 300_000),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) ?? 'info',
    logFormat: oneOf(env, 'LOG_FORMAT', ['json', 'pretty'] as const),
    otelExporterOtlpEndpoint: url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
    otelServiceName: env.OTEL_SERVICE_NAME || 'idempay',
    metricsToken: secret(env, 'METRICS_TOKEN'),
    metricsPort: env.METRICS_PORT ? int(env, 'METRICS_PORT', 0, 0, 65535) : undefined,
    rateLimitWrites: int(env, 'RATE_LIMIT_WRITES', 100, 0, 1_000_000),
    rateLimitReads: int(env, 'RATE_LIMIT_READS', 200, 0, 1_000_000),
    rateLimitWindowMs: int(env, 'RATE_LIMIT_WINDOW_MS', 1_000, 100, 3_600_000),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: env.REDIS_KEY_PREFIX || 'idempay:',
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    hstsMaxAgeSeconds: int(env, 'HSTS_MAX_AGE_SECONDS', 31_536_000, 0, 2 * 31_536_000),
    adminToken: secret(env, 'ADMIN_TOKEN'),
    consoleSessionTtlMs: int(env, 'CONSOLE_SESSION_TTL_MS', 8 * 3_600_000, 60_000, 7 * 24 * 3_600_000),
    v1DeprecatedAt,
    v1SunsetAt,
    sandboxWebhookSecrets: secrets(env, 'SANDBOX_WEBHOOK_SECRET'),
    providerWebhookSecrets: secrets(env, 'PROVIDER_WEBHOOK_SECRET'),
    webhookToleranceSeconds: int(env, 'WEBHOOK_TOLERANCE_SECONDS', 300, 1, 86_400),
    inboxMaxAttempts: int(env, 'INBOX_MAX_ATTEMPTS', 10, 1, 1_000),
    inboxRetryBaseMs: int(env, 'INBOX_RETRY_BASE_MS', 1_000, 1, 3_600_000),
    inboxRetryMaxMs: int(env, 'INBOX_RETRY_MAX_MS', 3_600_000, 1, 86_400_000),
    inboxSweepIntervalMs: int(env, 'INBOX_SWEEP_INTERVAL_MS', 5_000, 50, 3_600_000),
    webhookRetryScheduleMs: durations(env, 'WEBHOOK_RETRY_SCHEDULE_MS', [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
    webhookAttemptTimeoutMs: int(env, 'WEBHOOK_ATTEMPT_TIMEOUT_MS', 10_000, 10, 120_000),
    webhookSecretGraceMs: int(env, 'WEBHOOK_SECRET_GRACE_MS', 24 * 3_600_000, 0, 30 * 24 * 3_600_000),
    webhookDisableAfterMs: int(env, 'WEBHOOK_DISABLE_AFTER_MS', 3 * 24 * 3_600_000, 1_000, 90 * 24 * 3_600_000),
    webhookAllowedHosts: list(env, 'WEBHOOK_ALLOWED_HOSTS').map((host) => host.toLowerCase()),
    webhookPollIntervalMs: int(env, 'WEBHOOK_POLL_INTERVAL_MS', 500, 10, 60_000),
    crashAt,
    ...overrides,
  });
  checkBudgets(config);
  return config;
}

/**
 * The provider's budget must end before the request's, the lease must outlive both and the database
 * timeouts, and the headers' timeout fits in the request's.
 */
function checkBudgets(config: AppConfig): void {
  if (config.providerBudgetMs >= config.requestBudgetMs) {
    throw new ConfigError('PROVIDER_BUDGET_MS must be less than REQUEST_BUDGET_MS: the API answers after the provider gave up');
  }
  if (config.providerTimeoutMs > config.providerBudgetMs) throw new ConfigError('PROVIDER_TIMEOUT_MS must not exceed PROVIDER_BUDGET_MS');
  if (config.idempotencyLeaseMs <= config.requestBudgetMs) {
    throw new ConfigError('IDEMPOTENCY_LEASE_MS must exceed REQUEST_BUDGET_MS, or a live request could lose its key to a retry');
  }
  for (const [name, ms] of [
    ['DATABASE_STATEMENT_TIMEOUT_MS', config.databaseStatementTimeoutMs],
    ['DATABASE_LOCK_TIMEOUT_MS', config.databaseLockTimeoutMs],
    ['DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', config.databaseIdleInTransactionTimeoutMs],
  ] as const) {
    if (ms >= config.idempotencyLeaseMs) throw new ConfigError(`${name} must be less than IDEMPOTENCY_LEASE_MS: a stuck transaction must lose its locks before its key's lease passes`);
  }
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS: the headers are part of the request');
}
