import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { generateApiKey, hashApiKey, keyHint } from '../../src/auth/api-key.js';
import { newId } from '../../src/common/ids.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { ChangeNotifications, LISTENER_APPLICATION_NAME } from '../../src/database/change-notifications.js';
import { ProviderSettingsRepository } from '../../src/provider/provider-settings.repository.js';
import { startChildServer } from '../support/child-server.js';
import { type ApiResponse, call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * API keys and the kill switch are served from memory, and every instance forgets an entry when
 * Postgres announces (LISTEN/NOTIFY, from triggers) that its row changed. "From memory" is shown by
 * locking the table against every read: a request that still needs the table waits for the lock
 * until the lock timeout (503), one served from memory answers as if nothing were locked.
 */
const LOCK_TIMEOUT_MS = 300;

let stack: Stack;
let admin: pg.Client;

beforeAll(async () => {
  stack = await startStack({ databaseLockTimeoutMs: LOCK_TIMEOUT_MS });
  admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await stack.close();
});
beforeEach(async () => {
  await resetStack(stack);
});

const list = (baseUrl: string, key: string) => call(baseUrl, 'GET', '/v1/payments', undefined, { key });
const create = (baseUrl: string, key: string) => call(baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey: randomUUID() });

/** `request` sent while `table` is locked against reads, on a connection of its own (released after). */
async function whileLocked(table: 'api_keys' | 'provider_settings', request: () => Promise<ApiResponse>): Promise<ApiResponse> {
  const locker = new pg.Client({ connectionString: inject('databaseUrl') });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return await request();
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
}

/** Whether the key is served without reading api_keys. */
async function keyFromMemory(baseUrl: string, key: string): Promise<boolean> {
  const res = await whileLocked('api_keys', () => list(baseUrl, key));
  if (res.status !== 200) expect(res.body.code).toBe('service-unavailable');
  return res.status === 200;
}

/** A request with the key, then one while api_keys is locked, until that one is answered: the key is in memory. */
async function untilKeyInMemory(baseUrl: string, key: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    expect((await list(baseUrl, key)).status).toBe(200);
    if (await keyFromMemory(baseUrl, key)) return;
    if (performance.now() > deadline) throw new Error(`${baseUrl} still reads api_keys for a key it has seen`);
    await sleep(50);
  }
}

/** Polls `check` every 50 ms and fails unless it holds within 1 s of the call. */
async function within1s(check: () => Promise<boolean>): Promise<void> {
  const started = performance.now();
  for (;;) {
    const holds = await check();
    const elapsedMs = performance.now() - started;
    if (holds && elapsedMs < 1_000) return;
    if (elapsedMs >= 1_000) throw new Error(`not within 1 s (${Math.round(elapsedMs)} ms${holds ? ', held only then' : ''})`);
    await sleep(50);
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const revoke = (key: string) => admin.query('UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1', [hashApiKey(key)]);
const refused = async (baseUrl: string, key: string) => {
  const res = await list(baseUrl, key);
  return res.status === 401 && res.body.code === 'api-key-invalid';
};

describe('two server processes on one database', () => {
  it('each serves keys and the kill switch from memory, and sees a revocation and a flip both ways within 1 s', async () => {
    const merchant = await createMerchant(stack, 'Revoked');
    const other = await createMerchant(stack, 'Charging');
    const env = { DATABASE_URL: stack.config.databaseUrl!, SANDBOX_URL: stack.sandboxUrl, DATABASE_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS) };
    const children = await Promise.all([startChildServer(env), startChildServer(env)]);
    try {
      for (const child of children) {
        await untilKeyInMemory(child.baseUrl, merchant.test_key);
        await untilKeyInMemory(child.baseUrl, other.test_key);
      }
      await revoke(merchant.test_key);
      await Promise.all(children.map((child) => within1s(() => refused(child.baseUrl, merchant.test_key))));

      for (const child of children) {
        expect((await create(child.baseUrl, other.test_key)).status).toBe(201);
        expect((await whileLocked('provider_settings', () => create(child.baseUrl, other.test_key))).status).toBe(201);
      }
      const settings = stack.app.get(ProviderSettingsRepository);
      await settings.setEnabled('sandbox', false, 'incident 42');
      const disabled = async (baseUrl: string) => {
        const res = await create(baseUrl, other.test_key);
        return res.status === 503 && res.body.code === 'provider-disabled';
      };
      await Promise.all(children.map((child) => within1s(() => disabled(child.baseUrl))));
      await settings.setEnabled('sandbox', true, null);
      await Promise.all(children.map((child) => within1s(async () => (await create(child.baseUrl, other.test_key)).status === 201)));
    } finally {
      for (const child of children) child.process.kill('SIGTERM');
    }
    for (const child of children) expect(await child.exited).toBe(0);
  });
});

describe('API keys in memory', () => {
  it('an unknown key is read every time, so a key works as soon as it is inserted; then it is served from memory', async () => {
    const merchant = await createMerchant(stack);
    await untilKeyInMemory(stack.baseUrl, merchant.test_key);

    const key = generateApiKey('test');
    expect((await list(stack.baseUrl, key)).status).toBe(401);
    expect(await keyFromMemory(stack.baseUrl, key)).toBe(false);
    await admin.query(`INSERT INTO api_keys (id, merchant_id, mode, key_hash, key_hint) VALUES ($1, $2, 'test', $3, $4)`, [
      newId('key'),
      merchant.merchant_id,
      hashApiKey(key),
      keyHint(key),
    ]);
    expect((await list(stack.baseUrl, key)).status).toBe(200);
    // Not necessarily kept by that first read: the insert's notification may come in during it.
    await untilKeyInMemory(stack.baseUrl, key);
  });

  it('a revocation, a deletion and a TRUNCATE made in SQL are seen within 1 s', async () => {
    const [revoked, deleted, truncated] = await Promise.all(['Revoked', 'Deleted', 'Truncated'].map((name) => createMerchant(stack, name)));
    for (const merchant of [revoked, deleted, truncated]) await untilKeyInMemory(stack.baseUrl, merchant.test_key);

    await revoke(revoked.test_key);
    await within1s(() => refused(stack.baseUrl, revoked.test_key));
    expect((await list(stack.baseUrl, deleted.test_key)).status).toBe(200);

    await admin.query('DELETE FROM api_keys WHERE key_hash = $1', [hashApiKey(deleted.test_key)]);
    await within1s(() => refused(stack.baseUrl, deleted.test_key));

    await admin.query('TRUNCATE api_keys');
    await within1s(() => refused(stack.baseUrl, truncated.test_key));
  });

  it('keeps at most API_KEY_CACHE_ENTRIES keys, dropping the least recently used', async () => {
    const small = await startStack({ databaseLockTimeoutMs: LOCK_TIMEOUT_MS, apiKeyCacheEntries: 2 });
    try {
      const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((name) => createMerchant(stack, name)));
      await untilKeyInMemory(small.baseUrl, a.test_key);
      await untilKeyInMemory(small.baseUrl, b.test_key);
      // A used again, so B is now the least recently used, and goes when C comes in.
      expect((await list(small.baseUrl, a.test_key)).status).toBe(200);
      await untilKeyInMemory(small.baseUrl, c.test_key);
      expect(await keyFromMemory(small.baseUrl, a.test_key)).toBe(true);
      expect(await keyFromMemory(small.baseUrl, c.test_key)).toBe(true);
      expect(await keyFromMemory(small.baseUrl, b.test_key)).toBe(false);
    } finally {
      await small.close();
    }
  });
});

describe('the listener', () => {
  async function withProxiedStack(overrides: Partial<AppConfig>, test: (proxied: Stack, proxy: TcpProxy) => Promise<void>): Promise<void> {
    const direct = new URL(inject('databaseUrl'));
    const proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = await startStack({ databaseUrl: proxy.url(direct.toString()), databaseLockTimeoutMs: LOCK_TIMEOUT_MS, ...overrides });
    try {
      await test(proxied, proxy);
    } finally {
      await proxy.restore();
      await proxied.close();
      await proxy.close();
    }
  }

  it('lost and unable to reconnect: nothing is served from memory, a revocation counts at once; once back, memory is used again', () =>
    withProxiedStack({}, async (proxied, proxy) => {
      const changes = proxied.app.get(ChangeNotifications);
      const merchant = await createMerchant(stack);
      await untilKeyInMemory(proxied.baseUrl, merchant.test_key);

      proxy.refuseNew();
      const [{ count }] = (
        await admin.query(
          `SELECT count(pg_terminate_backend(pid, 2000)) AS count FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
          [LISTENER_APPLICATION_NAME],
        )
      ).rows;
      // At least the in-process stack's listener and this one's.
      expect(Number(count)).toBeGreaterThanOrEqual(2);
      await until(() => !changes.listening, 'the listener noticed');

      expect(await keyFromMemory(proxied.baseUrl, merchant.test_key)).toBe(false);
      expect((await list(proxied.baseUrl, merchant.test_key)).status).toBe(200);
      await revoke(merchant.test_key);
      expect(await refused(proxied.baseUrl, merchant.test_key)).toBe(true);

      await proxy.acceptNew();
      await until(() => changes.listening, 'listening again');
      await admin.query('UPDATE api_keys SET revoked_at = NULL WHERE key_hash = $1', [hashApiKey(merchant.test_key)]);
      await untilKeyInMemory(proxied.baseUrl, merchant.test_key);
    }));

  it('gone silent (a hung network): memory is distrusted within 1 s; a new connection listens once the network is back', () =>
    withProxiedStack({}, async (proxied, proxy) => {
      const changes = proxied.app.get(ChangeNotifications);
      await until(() => changes.listening, 'listening');
      proxy.freeze();
      await within1s(async () => !changes.listening);
      await proxy.restore();
      await until(() => changes.listening, 'listening again');
      const merchant = await createMerchant(proxied);
      await untilKeyInMemory(proxied.baseUrl, merchant.test_key);
    }));
});
