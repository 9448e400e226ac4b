import type { IncomingMessage } from 'node:http';
import { newTraceId } from '../observability/trace-ids.js';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The request's trace id: the one in a valid W3C `traceparent`, else a new one. */
export function traceIdOf(request: IncomingMessage): string {
  const header = request.headers.traceparent;
  const match = typeof header === 'string' ? TRACEPARENT.exec(header.trim()) : null;
  if (match && !/^0+$/.test(match[1])) return match[1];
  return newTraceId();
}
