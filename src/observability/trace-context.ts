import { type Context, context, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * The trace context of whatever runs now — a request or a job — kept by OpenTelemetry's context in
 * an AsyncLocalStorage: the logs read their trace id from it, the calls out send it as `traceparent`,
 * and what a request stores for a job to carry on keeps its traceparent.
 */
const w3c = new W3CTraceContextPropagator();

let contextManagerSet = false;

/** One context manager per process, as the API keeps one; every app built in the process shares it. */
export function useAsyncContext(): void {
  if (contextManagerSet) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  contextManagerSet = true;
}

export function activeTraceId(): string | undefined {
  return trace.getSpanContext(context.active())?.traceId;
}

/** The W3C headers (`traceparent`, and `tracestate` if any) for a call made now; none outside a request or job. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  w3c.inject(context.active(), headers, defaultTextMapSetter);
  return headers;
}

/** Stored beside what a request writes for a job to pick up later, so that job joins the request's trace. */
export function activeTraceparent(): string | null {
  return traceHeaders().traceparent ?? null;
}

/** The context a received or stored traceparent names: the root context when there is none, or it is not valid. */
export function contextOf(carrier: Record<string, string | string[] | undefined>): Context {
  return carrier.traceparent === undefined ? ROOT_CONTEXT : w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}
