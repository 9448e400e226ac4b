import { randomFillSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The request's trace id: the one in a valid W3C `traceparent`, else a new one. */
export function traceIdOf(request: IncomingMessage): string {
  const header = request.headers.traceparent;
  const match = typeof header === 'string' ? TRACEPARENT.exec(header.trim()) : null;
  if (match && !/^0+$/.test(match[1])) return match[1];
  return newTraceId();
}

// Random bytes drawn for 256 ids at a time: one call into the CSPRNG per id showed in replays' profiles.
const pool = Buffer.alloc(16 * 256);
let next = pool.length;

export function newTraceId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  next += 16;
  return pool.toString('hex', next - 16, next);
}
