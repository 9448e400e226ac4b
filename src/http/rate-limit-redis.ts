import type { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

/** A Redis on loopback or in the same network answers in a millisecond; past these, it counts as down. */
const CONNECT_TIMEOUT_MS = 1_000;
const COMMAND_TIMEOUT_MS = 250;

/**
 * The rate limit's Redis, built to fail fast rather than to wait: a command fails at once while the
 * connection is down (no offline queue, no retries) and after COMMAND_TIMEOUT_MS on a Redis that does
 * not answer, so a dead Redis costs a request at most that long. The client reconnects by itself.
 * Boot waits for the first connection for at most CONNECT_TIMEOUT_MS, then goes on without it.
 * Down and back are logged once each, without the URL (it may hold a password).
 */
export async function connectRateLimitRedis(url: string, logger: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn(`Redis is unreachable (${error.message}): rate limits are not enforced until it is back`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.log('Redis is back: rate limits are enforced again');
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', ready);
      resolve();
    }, CONNECT_TIMEOUT_MS);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', ready);
  });
  return redis;
}
