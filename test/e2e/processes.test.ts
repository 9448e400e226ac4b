import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/auth/api-key.js';
import { assertTestDatabase } from '../setup/global-setup.js';
import { startChildServer } from '../support/child-server.js';
import { call, chargesFor, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';

const run = promisify(execFile);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, { live: true });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
});

describe('merchants CLI', () => {
  it('prints exactly one JSON line with working keys, stored only as SHA-256 hashes', async () => {
    const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'merchants', 'create', '--name', 'Corner shop'], {
      env: { ...process.env, DATABASE_URL: stack.config.databaseUrl },
    });
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const created = JSON.parse(lines[0]);
    expect(Object.keys(created).sort()).toEqual(['live_key', 'merchant_id', 'test_key']);
    expect(created.test_key).toMatch(/^sk_test_/);
    expect(created.live_key).toMatch(/^sk_live_/);

    const stored: { key_hash: string; mode: string }[] = await stack.db.query('SELECT key_hash, mode FROM api_keys ORDER BY mode');
    expect(stored).toEqual([
      { key_hash: hashApiKey(created.live_key), mode: 'live' },
      { key_hash: hashApiKey(created.test_key), mode: 'test' },
    ]);
    const dump = JSON.stringify(await stack.db.query('SELECT * FROM api_keys'));
    expect(dump).not.toContain(created.test_key);

    const payment = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: created.test_key, idempotencyKey: randomUUID() });
    expect(payment.status).toBe(201);
    expect(payment.body.livemode).toBe(false);
    const live = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: created.live_key, idempotencyKey: randomUUID() });
    expect(live.body.livemode).toBe(true);
  });

  it('refuses a call without --name with a usage message and exit code 2', async () => {
    const failed = await run(process.execPath, ['dist/cli/main.js', 'merchants', 'create'], {
      env: { ...process.env, DATABASE_URL: stack.config.databaseUrl },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('usage') });
    expect(await stack.db.query('SELECT id FROM merchants')).toHaveLength(0);
  });
});

describe('the server process', () => {
  it('drains an in-flight request on SIGTERM, refuses new ones, and exits 0', async () => {
    const merchant = await createMerchant(stack);
    stack.sandbox.latencyMs = 800;
    const child = await startChildServer({ DATABASE_URL: stack.config.databaseUrl!, SANDBOX_URL: stack.sandboxUrl });
    const inFlight = call(child.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const late = await call(child.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key }).catch(() => undefined);
    expect(late === undefined || late.status === 503).toBe(true);

    const answer = await inFlight;
    expect(answer.status).toBe(201);
    expect(chargesFor(stack, answer.body.id)).toBe(1);
    expect(await child.exited).toBe(0);
  });

  it('refuses to start on a bad configuration value, naming it', async () => {
    await expect(startChildServer({ DATABASE_URL: stack.config.databaseUrl!, IDEMPOTENCY_LEASE_MS: 'soon' })).rejects.toThrow(
      /IDEMPOTENCY_LEASE_MS must be an integer/,
    );
  });
});

describe('generated types', () => {
  it('the drift check passes on the committed file and fails on a stale one', async () => {
    await expect(run(process.execPath, ['scripts/check-generated.mjs'])).resolves.toMatchObject({ stdout: expect.stringContaining('matches') });
    const dir = await mkdtemp(join(tmpdir(), 'idempay-stale-'));
    try {
      const stale = join(dir, 'v1.ts');
      await copyFile('src/generated/v1.ts', stale);
      await writeFile(stale, (await readFile(stale, 'utf8')).replace('failure_code: string | null;', 'failure_code: string;'));
      const failed = await run(process.execPath, ['scripts/check-generated.mjs', 'openapi/v1.yaml', stale]).catch((e: { code: number }) => e);
      expect(failed).toMatchObject({ code: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the test setup', () => {
  it('refuses a database whose name lacks "test"', () => {
    expect(() => assertTestDatabase('postgres://postgres@127.0.0.1:5432/idempay')).toThrow(/must contain "test"/);
    expect(() => assertTestDatabase('postgres://postgres@127.0.0.1:5432/postgres')).toThrow(/must contain "test"/);
    expect(() => assertTestDatabase('postgres://postgres@127.0.0.1:5432/idempay_test')).not.toThrow();
  });
});

describe('the kill switch from the CLI', () => {
  it('switches a provider off and on without a restart of the running API', async () => {
    const merchant = await createMerchant(stack);
    const cli = (...args: string[]) =>
      run(process.execPath, ['dist/cli/main.js', 'providers', ...args], { env: { ...process.env, DATABASE_URL: stack.config.databaseUrl } }).then((r) => JSON.parse(r.stdout));
    try {
      expect(await cli('disable', 'sandbox', '--reason', 'incident 42')).toEqual({ provider: 'sandbox', enabled: false, reason: 'incident 42' });
      const refused = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('provider-disabled');
      expect(await cli('list')).toEqual([expect.objectContaining({ provider: 'sandbox', enabled: false, reason: 'incident 42' })]);
    } finally {
      expect(await cli('enable', 'sandbox')).toEqual({ provider: 'sandbox', enabled: true });
    }
    expect((await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() })).status).toBe(201);
  });
});
