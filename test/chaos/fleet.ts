import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { type ChildServer, startChildServer } from '../support/child-server.js';
import { freePort } from '../support/free-port.js';

const run = promisify(execFile);

/** The sandbox provider as its own process (`dist/sandbox-provider/main.js`): it outlives every API process. */
export class SandboxProcess {
  private constructor(
    readonly url: string,
    private readonly child: ReturnType<typeof spawn>,
    private readonly exited: Promise<unknown>,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<SandboxProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/sandbox-provider/main.js'], {
      env: { ...process.env, LOG_LEVEL: 'error', SANDBOX_PORT: String(port), SANDBOX_LATENCY_MS: '0', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const sandbox = new SandboxProcess(`http://127.0.0.1:${port}`, child, once(child, 'exit'));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const up = await fetch(`${sandbox.url}/__sandbox/config`).then((r) => r.ok, () => false);
      if (up) return sandbox;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the sandbox process did not start');
      await sleep(50);
    }
  }

  async configure(knobs: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.url}/__sandbox/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(knobs) });
    if (!res.ok) throw new Error(`sandbox config refused: ${await res.text()}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * One API process on a port of its own, which keeps its port across restarts, so a client that
 * knows the instance reaches it again once it is back.
 */
export class ApiInstance {
  private child: ChildServer | undefined;
  starts = 0;
  kills = 0;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  static async start(name: string, env: Record<string, string>): Promise<ApiInstance> {
    const instance = new ApiInstance(name, await freePort(), env);
    await instance.start();
    return instance;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get up(): boolean {
    return this.child !== undefined && this.child.process.exitCode === null && this.child.process.signalCode === null;
  }

  async start(): Promise<void> {
    this.child = await startChildServer({ ...this.env, PORT: String(this.port) });
    this.starts++;
  }

  /** kill -9: no drain, no cleanup, whatever the process was doing. */
  async kill(): Promise<void> {
    if (!this.child || !this.up) return;
    this.child.process.kill('SIGKILL');
    await this.child.exited;
    this.kills++;
  }

  /** SIGTERM, and the exit code it ended with. */
  async stop(): Promise<number | string | undefined> {
    if (!this.child) return undefined;
    if (this.up) this.child.process.kill('SIGTERM');
    return this.child.exited;
  }

  output(): string {
    return this.child?.output() ?? '';
  }
}

/**
 * A `fetch` for the SDK that spreads its calls over the instances that are up, as a load balancer in
 * front of them would (the SDK's base URL is a placeholder this replaces). A call to an instance that
 * dies under it fails like a dropped connection, which the SDK retries.
 */
export function balancingFetch(instances: ApiInstance[], inner: typeof fetch = fetch): typeof fetch {
  let next = 0;
  return (input, init) => {
    const request = new Request(input, init);
    const up = instances.filter((i) => i.up);
    // With none up, a call still goes somewhere and fails as a dropped connection would.
    const pool = up.length > 0 ? up : instances;
    const target = pool[next++ % pool.length];
    const url = new URL(request.url);
    return inner(new Request(`${target.baseUrl}${url.pathname}${url.search}`, request));
  };
}

/** A merchant, made the way an operator makes one: the CLI against the database. */
export async function createMerchantWithCli(databaseUrl: string, name = 'Chaos merchant'): Promise<CreatedMerchant> {
  const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'merchants', 'create', '--name', name], { env: { ...process.env, DATABASE_URL: databaseUrl } });
  return JSON.parse(stdout);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Background tasks that run often enough for a test to wait on them: the completer, the reconciler, webhook delivery. */
export const QUICK_JOBS = {
  JOBS_ENABLED: 'true',
  COMPLETER_INTERVAL_MS: '200',
  RECONCILE_BASE_MS: '200',
  RECONCILE_MAX_MS: '1000',
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_POLL_INTERVAL_MS: '50',
  WEBHOOK_RETRY_SCHEDULE_MS: '200,500,1000',
} as const;

/** Subscribes `url` to every event of the merchant whose key is `apiKey`, through the API at `baseUrl`. */
export async function subscribe(baseUrl: string, apiKey: string, url: string): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/webhook_endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': crypto.randomUUID(), 'content-type': 'application/json' },
    body: JSON.stringify({ url, enabled_events: ['*'] }),
  });
  if (res.status !== 201) throw new Error(`the webhook endpoint was not created: ${res.status} ${await res.text()}`);
}

/**
 * A two-second lease, so a key a killed process held is taken over soon, and the budgets and
 * database timeouts that must fit inside it; long enough for a loaded two-core machine.
 */
export const CHAOS_TIMING = {
  IDEMPOTENCY_LEASE_MS: '2000',
  REQUEST_BUDGET_MS: '1800',
  PROVIDER_BUDGET_MS: '1500',
  PROVIDER_TIMEOUT_MS: '1000',
  DATABASE_STATEMENT_TIMEOUT_MS: '1500',
  DATABASE_LOCK_TIMEOUT_MS: '1000',
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1500',
} as const;
