import { pino, type DestinationStream } from 'pino';

/** About fifty request lines. */
const BATCH_CHARS = 16_384;
const FLUSH_MS = 200;

/**
 * Log lines gathered in memory and written to stdout together: once BATCH_CHARS have gathered, every
 * FLUSH_MS, and when the process exits. A write per line cost the replay path a system call (or a
 * thread-pool round trip) per request; sonic-boom's own `minLength` gathering measures the bytes of
 * everything gathered on every write, which costs more than it saves. The write itself is sonic-boom's,
 * synchronous (pino's default), so what was gathered is out before the process goes on, and at exit.
 */
class BatchedStdout implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;
  private readonly sink = pino.destination({ dest: 1, sync: true });

  constructor() {
    setInterval(() => this.flush(), FLUSH_MS).unref();
    process.on('exit', () => this.flush());
  }

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BATCH_CHARS) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.sink.write(batch);
  }
}

let stdout: BatchedStdout | undefined;

/** One per process: every app built in it writes to the same stdout. */
export function batchedStdout(): DestinationStream {
  stdout ??= new BatchedStdout();
  return stdout;
}
