import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './free-port.js';

export interface ChildServer {
  process: ChildProcess;
  baseUrl: string;
  output(): string;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | string>;
}

/** The built server (`dist/main.js`, made by `npm test`'s pretest) as a real child process, on `env.PORT` or a free port. */
export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    // The rate limits as the in-process stacks have them (harness.ts): on, but never reached.
    env: { ...process.env, LOG_LEVEL: 'error', HOST: '127.0.0.1', PORT: String(port), JOBS_ENABLED: 'false', RATE_LIMIT_WRITES: '1000000', RATE_LIMIT_READS: '1000000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const deadline = Date.now() + 20_000;
  while (!output.includes('idempay listening')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`child server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { process: child, baseUrl: `http://127.0.0.1:${port}`, output: () => output, exited };
}
