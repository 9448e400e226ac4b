import { hash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../errors/problem.js';
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

/** The API's own routes; health, metrics, the console, the docs and provider webhooks are not a merchant's budget. */
const LIMITED_ROUTE = /^\/v[12]\//;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const READ_METHODS = new Set(['GET', 'HEAD']);
const BEARER = /^Bearer\s+(\S+)$/i;
const WRITES_KEY = 'w'.charCodeAt(0);
/** Budgets kept in memory (without Redis), least recently used first out; a few MB at most. */
const MEMORY_BUDGETS = 50_000;

/**
 * Whose budget a request spends: its API key's, named by a hash so the key itself is kept nowhere
 * (not in memory, not in Redis); without a bearer token, its address's. The key is not checked here:
 * a request is counted before anything else is done for it, the database lookup of its key included.
 */
function clientOf(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
  return token === undefined ? `ip:${normalizeIP(request.ip)}` : hash('sha256', token, 'base64url');
}

function budgets(config: AppConfig): { writes?: Budget; reads?: Budget } {
  // The draft's `w` is whole seconds; a window under one second is announced as one.
  const seconds = Math.max(1, Math.round(config.rateLimitWindowMs / 1000));
  const budget = (name: Budget['name'], max: number): Budget | undefined =>
    max > 0 ? { name, max, policy: `"${name}";q=${max};w=${seconds}` } : undefined;
  return { writes: budget('writes', config.rateLimitWrites), reads: budget('reads', config.rateLimitReads) };
}

/**
 * Counts the request against its budget and, once the budget is spent, answers 429 at once: before the
 * body is read, the key authenticated or anything stored, so a refused request leaves nothing behind and
 * can be sent again, with the same Idempotency-Key, after `Retry-After` seconds. Every answer of a
 * limited route carries `RateLimit-Policy` and, while the count is known, `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers).
 */
function limiterFor(budget: Budget, limit: Limit, windowMs: number): onRequestHookHandler {
  const prefix = budget.name === 'writes' ? 'w:' : 'r:';
  const window = windowMs % 1000 === 0 ? `${windowMs / 1000} s` : `${windowMs} ms`;
  return async function rateLimited(request: FastifyRequest, reply: FastifyReply) {
    request.rateLimitKey = prefix + clientOf(request);
    const state = await limit(request);
    // Only a request on an allow-list is allowed uncounted, and there is none.
    if (state.isAllowed) return;
    reply.header('ratelimit-policy', budget.policy);
    // A store that failed is skipped (fail-open) and reports nothing spent: how much is left is unknown then.
    if (state.remaining === state.max) return;
    const seconds = state.isExceeded ? Math.max(1, state.ttlInSeconds) : state.ttlInSeconds;
    reply.header('ratelimit', `"${budget.name}";r=${state.remaining};t=${seconds}`);
    if (!state.isExceeded) return;
    const detail =
      `More than ${budget.max} ${budget.name} in ${window} with this API key (or, without one, from this address). Nothing was done: ` +
      `send the request again after ${seconds} s (with the same Idempotency-Key, if it had one).`;
    const body = problemBody('rate-limited', detail, request.id, request.url.split('?')[0]);
    return reply
      .code(429)
      .headers({ 'content-type': PROBLEM_CONTENT_TYPE, 'retry-after': String(seconds) })
      .send(JSON.stringify(body));
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
  const redis = config.redisUrl ? await connectRateLimitRedis(config.redisUrl, new Logger('RateLimit')) : undefined;
  if (redis) fastify.addHook('onClose', async () => redis.disconnect());
  await fastify.register(rateLimit, {
    global: false,
    timeWindow: config.rateLimitWindowMs,
    max: (_request, key) => (key.charCodeAt(0) === WRITES_KEY ? (writes?.max ?? 0) : (reads?.max ?? 0)),
    keyGenerator: (request) => request.rateLimitKey,
    skipOnError: true,
    cache: MEMORY_BUDGETS,
    ...(redis ? { redis, nameSpace: `${config.redisKeyPrefix}rate-limit:` } : {}),
  });
  fastify.decorateRequest('rateLimitKey', '');
  const limit = fastify.createRateLimit();
  const writesLimiter = writes && limiterFor(writes, limit, config.rateLimitWindowMs);
  const readsLimiter = reads && limiterFor(reads, limit, config.rateLimitWindowMs);
  // On the route, so it runs after every app-wide onRequest hook (trace id, logs, shutdown) and before
  // the body is parsed.
  fastify.addHook('onRoute', (route) => {
    if (!LIMITED_ROUTE.test(route.url)) return;
    const methods = [route.method].flat();
    const limiter = methods.some((m) => WRITE_METHODS.has(m)) ? writesLimiter : methods.some((m) => READ_METHODS.has(m)) ? readsLimiter : undefined;
    if (limiter) route.onRequest = [...[route.onRequest ?? []].flat(), limiter];
  });
}
