/**
 * The processes a run starts: each server under test, the sandbox provider, the merchant CLI.
 * Every child is the bench's own Node (the project's), started directly so its pid is the server's.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
/** Enough of a child's output to show why it failed; the sandbox logs every request. */
const KEPT_OUTPUT = 16_384;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Children still running, so a signal to the bench can take them down with it. */
const live = new Set();

export function killAll() {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * Starts `node <script>` (in `root`, this checkout by default) and waits until it is ready: it printed
 * `readyLine`, or `readyUrl` answers. With `logFile`, its output goes to that file, as a service's
 * logs go to a file or a log collector, instead of through a pipe the bench must read.
 * Returns `{ pid, stop(), logBytes() }`; stop() sends SIGTERM and, past the timeout, SIGKILL.
 */
export async function startProcess({ name, script, env, readyLine, readyUrl, root = ROOT, logFile }) {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to every server and the sandbox:
  // NODE_OPTIONS refuses --cpu-prof.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const fd = logFile ? openSync(logFile, 'w') : undefined;
  const stdio = fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd];
  const child = spawn(process.execPath, [...nodeArgs, join(root, script)], { cwd: root, env: { ...process.env, ...env }, stdio });
  if (fd !== undefined) closeSync(fd);
  let piped = '';
  const keep = (chunk) => {
    piped = (piped + chunk).slice(-KEPT_OUTPUT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const output = () => (logFile ? readFileSync(logFile, 'utf8').slice(-KEPT_OUTPUT) : piped);
  live.add(child);
  const exited = once(child, 'exit').finally(() => live.delete(child));
  const running = () => child.exitCode === null && child.signalCode === null;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (readyLine && output().includes(readyLine)) break;
    if (readyUrl && (await answers(readyUrl))) break;
    if (!running() || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start (${script}):\n${output()}`);
    }
    await sleep(50);
  }
  return {
    pid: child.pid,
    logBytes: () => (logFile ? statSync(logFile).size : 0),
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function answers(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** The sandbox provider as its own process, with its test routes. */
export async function startSandbox() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const sandbox = await startProcess({
    name: 'the sandbox provider',
    script: 'dist/sandbox-provider/main.js',
    env: { SANDBOX_PORT: String(port), LOG_LEVEL: 'error' },
    readyUrl: `${url}/__sandbox/requests`,
  });
  const json = async (path, init) => {
    const response = await fetch(`${url}${path}`, init);
    if (!response.ok) throw new Error(`sandbox ${path}: HTTP ${response.status}`);
    return response.json();
  };
  return {
    url,
    pid: sandbox.pid,
    stop: sandbox.stop,
    reset: () => json('/__sandbox/reset', { method: 'POST' }),
    /** Real executions per provider idempotency key. */
    executions: async () => (await json('/__sandbox/executions')).executions,
  };
}

/** A server under test (a spec of servers.mjs) on `databaseUrl`; adds its `url`. */
export async function startServer(spec, sandboxUrl, databaseUrl) {
  const port = await freePort();
  const child = await startProcess({
    name: spec.label,
    script: spec.script,
    env: {
      DATABASE_URL: databaseUrl,
      SANDBOX_URL: sandboxUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      ...spec.env,
    },
    readyLine: spec.readyLine,
    root: spec.root,
    logFile: spec.logFile,
  });
  return { ...child, url: `http://127.0.0.1:${port}` };
}

/** A merchant of idempay's, made by its CLI: `{ merchant_id, test_key, live_key }`. */
export async function createMerchant(databaseUrl) {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'merchants', 'create', '--name', 'Bench'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'error' },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop());
}
