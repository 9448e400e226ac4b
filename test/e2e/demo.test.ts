import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { createMerchant, resetStack, type Stack, startStack } from '../support/harness.js';
import { newSecret } from '../support/provider-events.js';
import { SpecValidator } from '../support/spec-validator.js';

/**
 * `npm run demo` (scripts/demo.mjs) as a child process against an in-process stack with jobs on, so
 * the provider's webhooks are applied and the merchant's are delivered. It reaches the API through a
 * proxy that checks every answer against openapi/v1.yaml and can tamper with one, to see the demo
 * refuse a step that misbehaves.
 */

/** Attempts long enough for the race step's 1 s of sandbox latency, a budget short enough for a quick 202. */
const policy = {
  providerTimeoutMs: 1_500,
  providerBudgetMs: 2_000,
  requestBudgetMs: 2_500,
  providerRetryBaseMs: 5,
  providerRetryMaxMs: 20,
  breakerConsecutiveFailures: 100_000,
  breakerMinimumCalls: 10_000,
  breakerWindowSize: 10_000,
  // The reconciler is not due during the run: only the provider's webhook can settle the 202.
  reconcileBaseMs: 120_000,
  webhookAllowedHosts: ['127.0.0.1'],
  webhookPollIntervalMs: 100,
  jobsEnabled: true,
};

type Tamper = (request: { method: string; path: string }, text: string) => string;

/** Forwards to the API byte for byte; checks each answer against the spec, after `tamper` had its say. */
class CheckingProxy {
  readonly problems: string[] = [];
  tamper: Tamper = (_request, text) => text;
  private server!: Server;
  private readonly spec = new SpecValidator('openapi/v1.yaml');

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void this.forward(req.method ?? 'GET', req.url ?? '/', req.headers as Record<string, string>, Buffer.concat(chunks)).then(({ status, headers, text }) => {
          res.writeHead(status, headers);
          res.end(text);
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async forward(method: string, path: string, incoming: Record<string, string>, body: Buffer) {
    const headers = Object.fromEntries(Object.entries(incoming).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)));
    const answer = await fetch(`${this.target}${path}`, { method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined });
    const text = this.tamper({ method, path }, await answer.text());
    this.problems.push(...this.spec.check(method, path, answer.status, answer.headers, text));
    const passed = Object.fromEntries([...answer.headers].filter(([name]) => !['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)));
    return { status: answer.status, headers: passed, text };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function runDemo(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['IDEMPAY_KEY', 'IDEMPAY_URL', 'SANDBOX_URL', 'PORT', 'SANDBOX_PORT', 'EMBEDDED_PG_DIR'].includes(name)));
  const child = spawn(process.execPath, ['scripts/demo.mjs'], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('npm run demo', () => {
  const secret = newSecret();
  let stack: Stack;
  let proxy: CheckingProxy;
  let merchant: CreatedMerchant;

  const endpoints = async () => Number((await stack.db.query('SELECT count(*) AS n FROM webhook_endpoints'))[0].n);
  const sandboxKnobs = async () => (await fetch(`${stack.sandboxUrl}/__sandbox/config`)).json();

  beforeAll(async () => {
    stack = await startStack({ ...policy, sandboxWebhookSecrets: [secret] });
    proxy = new CheckingProxy(stack.baseUrl);
    await proxy.start();
  });
  afterAll(async () => {
    await proxy?.close();
    await stack?.close();
    // The reconcile run queued two minutes ahead would hold the queue's one slot from the next file's stacks.
    const client = new pg.Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    await client.query(`DELETE FROM pgboss.job WHERE name = 'reconcile' AND state = 'created'`).finally(() => client.end());
  });
  beforeEach(async () => {
    await resetStack(stack);
    // As npm start wires its sandbox: signed webhooks to the API's own inbox.
    stack.sandbox.configure({}, { url: `${stack.baseUrl}/provider-webhooks/sandbox`, signingSecret: secret });
    merchant = await createMerchant(stack);
    proxy.problems.length = 0;
    proxy.tamper = (_request, text) => text;
  });

  it('runs every step against a live stack, with the key npm start keeps beside its data, and exits 0 leaving the sandbox and endpoints as it found them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'idempay-demo-'));
    await writeFile(join(dataDir, 'demo-merchant.json'), JSON.stringify(merchant));
    const before = await sandboxKnobs();
    try {
      const { code, output } = await runDemo({ IDEMPAY_URL: proxy.url, SANDBOX_URL: stack.sandboxUrl, EMBEDDED_PG_DIR: join(dataDir, 'postgres') });

      expect(code, output).toBe(0);
      expect(output).toMatch(/^ {3}← 201 Created \(\d+ ms\) {2}Location: \/v1\/webhook_endpoints\/we_\w+ {2}Trace-Id: [0-9a-f]{32}/m);
      expect(output).toMatch(/^ {3}ok 0: endpoint we_\w+/m);
      expect(output).toMatch(/^ {3}ok 1: pay_\w+ succeeded, charged once by the sandbox$/m);
      expect(output).toMatch(/^ {3}← 201 Created \(\d+ ms\) {2}Location: \/v1\/payments\/pay_\w+ {2}Trace-Id: [0-9a-f]{32} {2}Idempotent-Replayed: true/m);
      expect(output).toMatch(/^ {3}ok 2: the stored answer, byte for byte, with Idempotent-Replayed: true; still charged once$/m);
      expect(output).toMatch(/^ {3}← 422 Unprocessable Entity .*idempotency-key-reused/m);
      expect(output).toMatch(/^ {3}ok 3: 422 idempotency-key-reused naming amount; nothing charged$/m);
      expect(output).toMatch(/^ {3}[AB] ← 409 Conflict \(\d+ ms\) {2}Trace-Id: [0-9a-f]{32} {2}Retry-After: 1 .*idempotency-key-in-use/m);
      expect(output).toMatch(/^ {3}ok 4: one 201, one 409 idempotency-key-in-use with Retry-After; the retry got the 201's answer; pay_\w+ charged once$/m);
      expect(output).toMatch(/^ {3}← 202 Accepted \(\d+ ms\) {2}Location: \/v1\/payments\/pay_\w+ .* processing$/m);
      expect(output).toMatch(/^ {3}\(charge\.succeeded, signed by the sandbox\) → POST \/provider-webhooks\/sandbox\n {3}← 200 OK .*\{"received":true\}$/m);
      expect(output).toMatch(/^ {3}ok 5: 202 processing, then succeeded by the provider's webhook; charged once$/m);
      expect(output).toMatch(/^ {3}ok 6: a decline is a 201 with status failed and failure_code card_declined/m);
      expect(output).toMatch(/^ {3}ok 7: re_\w+ succeeded for all 5000 eur$/m);
      for (const type of ['payment.succeeded', 'payment.processing', 'payment.failed', 'refund.succeeded']) {
        expect(output).toMatch(new RegExp(`^ {3}← ${type.replace('.', '\\.')} evt_\\w+ for (pay|re)_\\w+ \\(sequence \\d+\\): signature verified$`, 'm'));
      }
      expect(output).toMatch(/^ {3}ok 8: 6 webhooks received, every signature verified; endpoint deleted$/m);
      expect(output).toMatch(/^demo [0-9a-f]{8}: every step behaved as openapi\/v1\.yaml says$/m);

      // Every answer it got is one the contract describes; nothing ran twice; nothing is left behind.
      expect(proxy.problems).toEqual([]);
      expect([...stack.sandbox.executions.values()].every((count) => count === 1)).toBe(true);
      expect(stack.sandbox.executions.size).toBe(5);
      expect(await sandboxKnobs()).toEqual(before);
      expect(await endpoints()).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('exits 1 naming the step when a replay is not byte for byte the original, and still puts the sandbox back and deletes its endpoint', async () => {
    const before = await sandboxKnobs();
    let replays = 0;
    // The second replay (the race's retry, after the latency knob was set) is re-spaced: the same JSON, other bytes.
    proxy.tamper = ({ method, path }, text) => (method === 'POST' && path === '/v1/payments' && text.includes('"status":"succeeded"') && ++replays === 4 ? text.replace('"status":"succeeded"', '"status": "succeeded"') : text);

    const { code, output } = await runDemo({ IDEMPAY_URL: proxy.url, SANDBOX_URL: stack.sandboxUrl, IDEMPAY_KEY: merchant.test_key });

    expect(code, output).toBe(1);
    expect(output).toMatch(/^ {3}ok 3: /m);
    expect(output).toMatch(/^ {3}FAIL 4: the replay's body differs from the original's/m);
    expect(output).not.toMatch(/^ {3}ok 4: /m);
    expect(output).toMatch(/^demo [0-9a-f]{8} failed: a step did not behave as openapi\/v1\.yaml says$/m);
    expect(await sandboxKnobs()).toEqual(before);
    expect(await endpoints()).toBe(0);
  });

  it('exits 2 with what to set when the key is refused', async () => {
    const { code, output } = await runDemo({ IDEMPAY_URL: proxy.url, SANDBOX_URL: stack.sandboxUrl, IDEMPAY_KEY: 'sk_test_not_a_key_of_this_server' });

    expect(code, output).toBe(2);
    expect(output).toContain('refused the API key: set IDEMPAY_KEY to the "test key:" npm start printed');
    expect(await endpoints()).toBe(0);
  });
});
