import { type Context, createContextKey, ROOT_CONTEXT, type Span, type SpanContext, trace } from '@opentelemetry/api';
import { newSpanId } from './trace-ids.js';

// The API's own key for the active span: `createContextKey` gives the same symbol for the same name.
const SPAN_KEY = createContextKey('OpenTelemetry Context Key SPAN');

/**
 * A request's or job's span context when nothing is recorded: its trace id and sampling flag, and a
 * span id drawn only when something reads it (a call out, a row a job carries on), which a replay
 * never does.
 */
function lazySpanContext(traceId: string, traceFlags: number): SpanContext {
  let spanId: string | undefined;
  return {
    traceId,
    traceFlags,
    get spanId() {
      spanId ??= newSpanId();
      return spanId;
    },
  };
}

/**
 * A context holding one span and nothing else. The API's own context copies a Map and makes three
 * closures for every instance, which showed in the replays' profiles: every request makes one.
 */
class SpanOnlyContext implements Context {
  constructor(private readonly span: Span) {}

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.span : undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    return trace.setSpan(ROOT_CONTEXT, this.span).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return key === SPAN_KEY ? ROOT_CONTEXT : this;
  }
}

/** The context of a request or job whose spans are not recorded: only its trace context, made cheaply. */
export function unrecordedContext(traceId: string, traceFlags: number): Context {
  // The API's own non-recording span, around a span context that draws its id late.
  return new SpanOnlyContext(trace.wrapSpanContext(lazySpanContext(traceId, traceFlags)));
}
