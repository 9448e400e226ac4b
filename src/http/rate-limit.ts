import { Logger } from '@nestjs/common';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { bearerKeyHashOf } from '../auth/api-key.js';
import type { AppConfig } from '../config/app-config.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../errors/problem.js';
import { isApiUrl } from './api-headers.js';
import { MemoryBudgets } from './rate-limit-memory.js';
import { connectRateLimitRedis } from './rate-limit-redis.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The budget this request spends: its kind, then whose it is (a hash of the bearer token, or the client's address). */
    rateLimitKey: string;
  }
}

interface Budget {
  /** The policy's name in `RateLimit` and `RateLimit-Policy`. */
  name: 'writes' | 'reads';
  max: number;
  /** `RateLimit-Policy`, the same on every answer. */
  policy: string;
}

type Limit = ReturnType<FastifyInstance['createRateLimit']>;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const READ_METHODS = new Set(['GET', 'HEAD']);
const WRITES_KEY = 'w'.charCodeAt(0);
/** Clients counted in memory (without Redis) in one window at most; a few MB. */
const MEMORY_BUDGETS = 50_000;

/**
 * Whose budget a request spends: its API key's, named by the hash authentication looks it up by, so
 * the key itself is kept nowhere (not in memory, not in Redis); without a bearer token, its address's. The key is not checked here:
 * a request is counted before anything else is done for it, the database lookup of its key included.
 */
function clientOf(request: FastifyRequest): string {
  return bearerKeyHashOf(request) ?? `ip:${normalizeIP(request.ip)}`;
}

function budgets(config: AppConfig): { writes?: Budget; reads?: Budget } {
  // The draft's `w` is whole seconds; a window under one second is announced as one.
  const seconds = Math.max(1, Math.round(config.rateLimitWindowMs / 1000));
  const budget = (name: Budget['name'], max: number): Budget | undefined =>
    max > 0 ? { name, max, policy: `"${name}";q=${max};w=${seconds}` } : undefined;
  return { writes: budget('writes', config.rateLimitWrites), reads: budget('reads', config.rateLimitReads) };
}

/** Where a client stands in its budget's window after this request. */
interface Standing {
  remaining: number;
  /** Seconds until the window ends. */
  resetSeconds: number;
  exceeded: boolean;
}

/**
 * Every answer of a limited route carries `RateLimit-Policy` and, while the count is known,
 * `RateLimit` (draft-ietf-httpapi-ratelimit-headers). Once the budget is spent the request is answered
 * 429 at once: before the body is read, the key authenticated or anything stored, so a refused request
 * leaves nothing behind and can be sent again, with the same Idempotency-Key, after `Retry-After`
 * seconds. Returns whether it was refused.
 */
function answered(budget: Budget, window: string, request: FastifyRequest, reply: FastifyReply, standing: Standing | undefined): boolean {
  reply.header('ratelimit-policy', budget.policy);
  // A store that failed is skipped (fail-open): how much is left is unknown then.
  if (standing === undefined) return false;
  const seconds = standing.exceeded ? Math.max(1, standing.resetSeconds) : standing.resetSeconds;
  reply.header('ratelimit', `"${budget.name}";r=${standing.remaining};t=${seconds}`);
  if (!standing.exceeded) return false;
  const detail =
    `More than ${budget.max} ${budget.name} in ${window} with this API key (or, without one, from this address). Nothing was done: ` +
    `send the request again after ${seconds} s (with the same Idempotency-Key, if it had one).`;
  const body = problemBody('rate-limited', detail, request.id, request.url.split('?')[0]);
  reply
    .code(429)
    .headers({ 'content-type': PROBLEM_CONTENT_TYPE, 'retry-after': String(seconds) })
    .send(JSON.stringify(body));
  return true;
}

function windowOf(windowMs: number): string {
  return windowMs % 1000 === 0 ? `${windowMs / 1000} s` : `${windowMs} ms`;
}

/** Counted in this process, synchronously: a callback hook, no promise. */
function memoryLimiter(budget: Budget, budgets: MemoryBudgets, windowMs: number): onRequestHookHandler {
  const prefix = budget.name === 'writes' ? 'w:' : 'r:';
  const window = windowOf(windowMs);
  return function rateLimited(request, reply, done) {
    const now = Date.now();
    const spent = budgets.spend(prefix + clientOf(request), now);
    const standing = { remaining: Math.max(0, budget.max - spent.used), resetSeconds: Math.ceil((spent.endsAt - now) / 1000), exceeded: spent.used > budget.max };
    if (!answered(budget, window, request, reply, standing)) done();
  };
}

/** Counted in Redis by @fastify/rate-limit, which skips the count (fail-open) when Redis cannot answer. */
function redisLimiter(budget: Budget, limit: Limit, windowMs: number): onRequestHookHandler {
  const prefix = budget.name === 'writes' ? 'w:' : 'r:';
  const window = windowOf(windowMs);
  return async function rateLimited(request: FastifyRequest, reply: FastifyReply) {
    request.rateLimitKey = prefix + clientOf(request);
    const state = await limit(request);
    // Only a request on an allow-list is allowed uncounted, and there is none.
    if (state.isAllowed) return;
    // Skipped (fail-open), nothing was spent.
    const standing = state.remaining !== state.max ? { remaining: state.remaining, resetSeconds: state.ttlInSeconds, exceeded: state.isExceeded } : undefined;
    if (answered(budget, window, request, reply, standing)) return reply;
  };
}

/**
 * A budget of writes and one of reads per API key and window (RATE_LIMIT_*), on the /v1 and /v2 routes.
 * Kept in memory, or in Redis when REDIS_URL is set so every instance spends the same budget. When Redis
 * cannot answer, requests are let through uncounted (fail-open) rather than refused or failed: the
 * limit protects the service, and turning traffic away because its own counter is down would not.
 */
export async function registerRateLimit(fastify: FastifyInstance, config: AppConfig): Promise<void> {
  const { writes, reads } = budgets(config);
  if (!writes && !reads) return;
  const { writesLimiter, readsLimiter } = config.redisUrl
    ? await redisLimiters(fastify, config, config.redisUrl, writes, reads)
    : memoryLimiters(config, writes, reads);
  // On the route, so it runs after every app-wide onRequest hook (trace id, logs, shutdown) and before
  // the body is parsed.
  fastify.addHook('onRoute', (route) => {
    // The API's own routes: health, metrics, the console, the docs and provider webhooks are not a merchant's budget.
    if (!isApiUrl(route.url)) return;
    const methods = [route.method].flat();
    const limiter = methods.some((m) => WRITE_METHODS.has(m)) ? writesLimiter : methods.some((m) => READ_METHODS.has(m)) ? readsLimiter : undefined;
    if (limiter) route.onRequest = [...[route.onRequest ?? []].flat(), limiter];
  });
}

function memoryLimiters(config: AppConfig, writes: Budget | undefined, reads: Budget | undefined) {
  const budgets = new MemoryBudgets(config.rateLimitWindowMs, MEMORY_BUDGETS);
  return {
    writesLimiter: writes && memoryLimiter(writes, budgets, config.rateLimitWindowMs),
    readsLimiter: reads && memoryLimiter(reads, budgets, config.rateLimitWindowMs),
  };
}

async function redisLimiters(fastify: FastifyInstance, config: AppConfig, redisUrl: string, writes: Budget | undefined, reads: Budget | undefined) {
  const redis = await connectRateLimitRedis(redisUrl, new Logger('RateLimit'));
  fastify.addHook('onClose', async () => redis.disconnect());
  await fastify.register(rateLimit, {
    global: false,
    timeWindow: config.rateLimitWindowMs,
    max: (_request, key) => (key.charCodeAt(0) === WRITES_KEY ? (writes?.max ?? 0) : (reads?.max ?? 0)),
    keyGenerator: (request) => request.rateLimitKey,
    skipOnError: true,
    redis,
    nameSpace: `${config.redisKeyPrefix}rate-limit:`,
  });
  fastify.decorateRequest('rateLimitKey', '');
  const limit = fastify.createRateLimit();
  return {
    writesLimiter: writes && redisLimiter(writes, limit, config.rateLimitWindowMs),
    readsLimiter: reads && redisLimiter(reads, limit, config.rateLimitWindowMs),
  };
}
