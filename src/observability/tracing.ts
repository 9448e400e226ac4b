import { type Attributes, type Context, context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type IdGenerator, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { contextOf, useAsyncContext } from './trace-context.js';
import { unrecordedContext } from './unrecorded-context.js';
import { newSpanId, newTraceId } from './trace-ids.js';

/** Span ids from the pool trace ids come from; a request's root span takes the trace id the request already has. */
class RequestTraceIds implements IdGenerator {
  pinned: string | undefined;

  generateTraceId(): string {
    return this.pinned ?? newTraceId();
  }

  generateSpanId(): string {
    return newSpanId();
  }
}

/** OTLP/HTTP takes traces under /v1/traces of the collector's base URL. */
function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * OpenTelemetry spans: one per request, one per phase of a create, one per provider attempt, one per
 * job run, exported over OTLP/HTTP in batches when OTEL_EXPORTER_OTLP_ENDPOINT is set. Without an
 * exporter nothing is recorded, yet every request and job still runs in a trace context of its own
 * (a trace id, a span id), which the logs and the `traceparent` sent out are made from; a phase then
 * costs one function call.
 */
export class Tracing {
  private readonly provider: TracerProvider | undefined;
  private readonly tracer: Tracer | undefined;
  private readonly ids = new RequestTraceIds();

  constructor(config: AppConfig, exporter?: SpanExporter) {
    useAsyncContext();
    const sink = exporter ?? (config.otelExporterOtlpEndpoint ? new OTLPTraceExporter({ url: tracesUrl(config.otelExporterOtlpEndpoint) }) : undefined);
    if (!sink) return;
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.otelServiceName }),
      idGenerator: this.ids,
      spanProcessors: [new BatchSpanProcessor({ exporter: sink })],
    });
    this.tracer = this.provider.getTracer('idempay');
  }

  /** Whether spans are recorded and exported. */
  get recording(): boolean {
    return this.tracer !== undefined;
  }

  /**
   * The context a request runs in. Its span's trace id is the request's (`request.id`, taken from a
   * valid incoming `traceparent`, whose span becomes its parent, or new).
   */
  requestContext(request: FastifyRequest): Context {
    const header = request.headers.traceparent;
    if (!this.tracer) {
      // Not recording: the caller's sampling decision goes on to the calls this request makes.
      const continued = typeof header === 'string' && header.includes(request.id);
      const traceFlags = continued ? Number.parseInt(header.trimEnd().slice(-2), 16) & TraceFlags.SAMPLED : TraceFlags.NONE;
      return unrecordedContext(request.id, traceFlags);
    }
    let parent = ROOT_CONTEXT;
    if (header !== undefined) {
      const remote = contextOf(request.headers);
      if (trace.getSpanContext(remote)?.traceId === request.id) parent = remote;
    }
    const route = request.routeOptions.url;
    this.ids.pinned = request.id;
    try {
      const span = this.tracer.startSpan(route ? `${request.method} ${route}` : request.method, {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, ...(route && { 'http.route': route }) },
      }, parent);
      return trace.setSpan(parent, span);
    } finally {
      this.ids.pinned = undefined;
    }
  }

  /** Ends the request's span (a context from `requestContext`) with what it came to. */
  endRequest(requestContext: Context, statusCode: number, attributes: Attributes): void {
    const span = trace.getSpan(requestContext);
    if (!span?.isRecording()) return;
    span.setAttributes({ ...attributes, 'http.response.status_code': statusCode });
    if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  /** Runs `work` as a child span of the running one (a phase, a provider attempt). */
  inSpan<T>(name: string, work: () => Promise<T>, attributes?: Attributes): Promise<T> {
    if (!this.tracer) return work();
    return this.tracer.startActiveSpan(name, { attributes }, (span) => ended(span, work));
  }

  /**
   * Runs a job's work in the trace of the request that caused it, named by the `traceparent` stored
   * with what the job picks up (a new trace when none was stored); `work` gets the trace id.
   */
  runJob<T>(name: string, traceparent: string | null | undefined, work: (traceId: string) => Promise<T>): Promise<T> {
    const parent = traceparent ? contextOf({ traceparent }) : ROOT_CONTEXT;
    if (!this.tracer) {
      const caller = trace.getSpanContext(parent);
      const traceId = caller?.traceId ?? newTraceId();
      return context.with(unrecordedContext(traceId, caller?.traceFlags ?? TraceFlags.NONE), work, undefined, traceId);
    }
    return this.tracer.startActiveSpan(name, { kind: SpanKind.CONSUMER }, parent, (span) => ended(span, () => work(span.spanContext().traceId)));
  }

  /** Exports the spans ended so far. */
  async forceFlush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/** Ends the span when `work` settles; a failure marks it, by its code or class only (a message may carry data). */
async function ended<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : error instanceof Error ? error.name : 'error' });
    throw error;
  } finally {
    span.end();
  }
}
