import { Writable } from 'node:stream';

export type LogEntry = Record<string, unknown>;

/** An app's log as written (JSON lines), for `startStack(..., { logStream })`. */
export class CapturedLog extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }

  entries(): LogEntry[] {
    return this.text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LogEntry);
  }

  /** The lines of the request with this trace id that say it was answered (one per request). */
  requestLines(traceId: string): LogEntry[] {
    return this.entries().filter((e) => e.msg === 'request' && e.trace_id === traceId);
  }
}
