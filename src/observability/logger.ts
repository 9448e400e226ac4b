import { pino, type DestinationStream, type Logger, type SerializerFn } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../config/app-config.js';
import { batchedStdout } from './batched-stdout.js';
import { REDACTED, REDACTED_PATHS, scrubSecrets } from './redaction.js';
import { activeTraceId } from './trace-context.js';

export interface LoggerOptions {
  /** Where the lines go (the tests capture them); by default stdout, pretty when LOG_FORMAT says so. */
  destination?: DestinationStream;
  serializers?: Record<string, SerializerFn>;
}

// Returned when a line needs no trace id: merged into nothing, allocated once.
const NONE = Object.freeze({});

/** Every line logged while a request or a job runs carries its trace id, read from its async context. */
function traceFields(fields: { trace_id?: unknown }): object {
  if (fields.trace_id !== undefined) return NONE;
  const traceId = activeTraceId();
  return traceId === undefined ? NONE : { trace_id: traceId };
}

/**
 * The process's one logger: JSON lines at LOG_LEVEL, each with the trace id of the request or job
 * that wrote it, secrets redacted (redaction.ts), written to stdout in batches (batched-stdout.ts).
 */
export function createLogger(config: AppConfig, { destination, serializers }: LoggerOptions = {}): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: REDACTED },
      serializers,
      mixin: traceFields,
      mixinMergeStrategy: (fields: object, trace: object) => (trace === NONE ? fields : Object.assign(trace, fields)),
      hooks: { streamWrite: scrubSecrets },
    },
    destination ?? (config.logFormat === 'pretty' ? prettyStdout() : batchedStdout()),
  );
}

/** For a person at a terminal (`npm start`): one readable line per entry, written at once, in order with the rest. */
function prettyStdout(): DestinationStream {
  return pretty({
    colorize: process.stdout.isTTY === true,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    messageFormat: '{if context}{context}: {end}{msg}',
    ignore: 'pid,hostname,context',
  });
}

/**
 * A writer of info lines whose fields come already serialized (`"a":1,"b":"x"`, safe JSON with no
 * secret in it), in the logger's format and to its destination; undefined when info is off. For
 * the line written at every request: pino's generic serialization of an object costs microseconds
 * a line, this a string concatenation.
 */
export function preserializedInfo(logger: Logger): ((fields: string) => void) | undefined {
  if (!logger.isLevelEnabled('info')) return undefined;
  const internals = logger as unknown as Record<symbol, unknown>;
  const time = internals[pino.symbols.timeSym] as () => string;
  const bindings = internals[pino.symbols.chindingsSym] as string;
  const stream = internals[pino.symbols.streamSym] as DestinationStream;
  const level = `{"level":${logger.levels.values.info}`;
  return (fields) => stream.write(`${level}${time()}${bindings},${fields}}\n`);
}
