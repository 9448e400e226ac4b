import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import type { AppConfig } from '../../src/config/app-config.js';
import { startChildServer } from '../support/child-server.js';
import { call, chargesFor, createMerchant, resetStack, sleep, type Stack, startStack, totalCharges, visa } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * When Postgres goes away under a running server — a restart, a cut, a hung network, a full pool —
 * every request that needs it answers 503 service-unavailable with Retry-After (never a 500, never
 * a hang), the process stays up, and it serves again as soon as Postgres is back.
 */
async function withProxiedStack(overrides: Partial<AppConfig>, test: (stack: Stack, proxy: TcpProxy) => Promise<void>): Promise<void> {
  const direct = new URL(inject('databaseUrl'));
  const proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
  const stack = await startStack({ databaseUrl: proxy.url(direct.toString()), databasePoolTimeoutMs: 500, ...overrides });
  try {
    await resetStack(stack);
    await test(stack, proxy);
  } finally {
    await proxy.restore();
    await stack.close();
    await proxy.close();
  }
}

function expectUnavailable(res: Awaited<ReturnType<typeof call>>): void {
  expect(res.status).toBe(503);
  expect(res.body.code).toBe('service-unavailable');
  expect(res.headers.get('retry-after')).toBe('1');
}

describe('Postgres unreachable', () => {
  it('connections reset and refused: every operation answers 503 with Retry-After, and serves again once Postgres is back', () =>
    withProxiedStack({}, async (stack, proxy) => {
      const merchant = await createMerchant(stack);
      const paid = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
      expect(paid.status).toBe(201);

      await proxy.cut();
      const key = randomUUID();
      const opts = (idempotencyKey?: string) => ({ key: merchant.test_key, idempotencyKey });
      expectUnavailable(await call(stack.baseUrl, 'POST', '/v1/payments', visa, opts(key)));
      expectUnavailable(await call(stack.baseUrl, 'GET', '/v1/payments', undefined, opts()));
      expectUnavailable(await call(stack.baseUrl, 'GET', `/v1/payments/${paid.body.id}`, undefined, opts()));
      expectUnavailable(await call(stack.baseUrl, 'PATCH', `/v1/payments/${paid.body.id}`, { description: 'x' }, opts(randomUUID())));
      expectUnavailable(await call(stack.baseUrl, 'POST', `/v1/payments/${paid.body.id}/refunds`, {}, opts(randomUUID())));
      expectUnavailable(await call(stack.baseUrl, 'GET', `/v1/payments/${paid.body.id}/refunds`, undefined, opts()));
      expectUnavailable(await call(stack.baseUrl, 'GET', `/v2/payments/${paid.body.id}`, undefined, opts()));

      await proxy.restore();
      const retry = await call(stack.baseUrl, 'POST', '/v1/payments', visa, opts(key));
      expect(retry.status).toBe(201);
      expect(chargesFor(stack, retry.body.id)).toBe(1);
      expect((await call(stack.baseUrl, 'GET', '/v1/payments', undefined, opts())).body.data).toHaveLength(2);
    }));

  it('a hung network (no byte through, old connections or new): 503 within the pool and statement timeouts, never a hang', () =>
    withProxiedStack({ databaseStatementTimeoutMs: 1_000 }, async (stack, proxy) => {
      const merchant = await createMerchant(stack);
      proxy.freeze();
      const started = performance.now();
      const answers = await Promise.all([
        call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() }),
        call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key }),
      ]);
      for (const res of answers) expectUnavailable(res);
      // The statement timeout plus the client's margin over it (query_timeout), plus slack for a loaded machine.
      expect(performance.now() - started).toBeLessThan(1_000 + 1_000 + 2_000);
      await proxy.restore();
      expect((await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key })).status).toBe(200);
    }));

  it('every connection busy: a request waits DATABASE_POOL_TIMEOUT_MS for one, then answers 503 instead of queueing past its budget', () =>
    withProxiedStack({ databasePoolSize: 1, databaseStatementTimeoutMs: 5_000 }, async (stack) => {
      const merchant = await createMerchant(stack);
      const busy = stack.db.query('SELECT pg_sleep(2)');
      await sleep(100);
      const started = performance.now();
      expectUnavailable(await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key }));
      expect(performance.now() - started).toBeLessThan(500 + 1_000);
      await busy;
      expect((await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key })).status).toBe(200);
    }));

  it('lost after the claim while the provider charges: 503 (the retry is safe); once Postgres is back the keys are free at once, not a lease later, and a retry gets its one charge', () =>
    withProxiedStack({ providerTimeoutMs: 700 }, async (stack, proxy) => {
      const merchant = await createMerchant(stack);
      stack.sandbox.configure({ latencyMs: 400 });
      const [retried, waiting] = [randomUUID(), randomUUID()];
      const first = [retried, waiting].map((key) => call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key }));
      await sleep(200);
      await proxy.cut();
      for (const res of await Promise.all(first)) expectUnavailable(res);
      expect(totalCharges(stack)).toBe(2);

      // Their requests have ended, but the leases they held could not be given back while Postgres was
      // away: the retry that the 503 asked for must not be told "in use" for a whole lease (30 s here).
      await proxy.restore();
      stack.sandbox.configure({ latencyMs: 0 });
      const retry = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: retried });
      expect(retry.status).toBe(201);
      expect(chargesFor(stack, retry.body.id)).toBe(1);

      // The key nobody retried yet is given back as soon as Postgres answers, for any instance's retry.
      let held: { locked_by: string | null }[] = [{ locked_by: 'owner' }];
      for (let i = 0; held[0].locked_by !== null && i < 40; i++) {
        await sleep(50);
        held = await stack.db.query('SELECT locked_by FROM idempotency_keys WHERE key = $1', [waiting]);
      }
      expect(held).toEqual([{ locked_by: null }]);
      const later = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: waiting });
      expect(later.status).toBe(201);
      expect(chargesFor(stack, later.body.id)).toBe(1);
      expect(totalCharges(stack)).toBe(2);
    }));
});

describe('a process paused in the middle of a transaction', () => {
  it('loses its locks after DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS; meanwhile the key it holds answers within DATABASE_LOCK_TIMEOUT_MS and other payments go on', async () => {
    const stack = await startStack({ databaseLockTimeoutMs: 1_000 });
    const locker = new pg.Client({ connectionString: inject('databaseUrl') });
    await locker.connect();
    let child: Awaited<ReturnType<typeof startChildServer>> | undefined;
    try {
      await resetStack(stack);
      const merchant = await createMerchant(stack);
      child = await startChildServer({
        DATABASE_URL: stack.config.databaseUrl!,
        SANDBOX_URL: stack.sandboxUrl,
        DATABASE_LOCK_TIMEOUT_MS: '10000',
        DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1500',
      });

      // A create's phases are single statements, which no pause can hold open: an update's phase is
      // a transaction of several. Hold the child inside it (its key's row is locked by then) until it
      // is stopped there.
      const payment = (await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() })).body;
      await locker.query('BEGIN; LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
      const key = randomUUID();
      const update = { description: 'paused' };
      void call(child.baseUrl, 'PATCH', `/v1/payments/${payment.id}`, update, { key: merchant.test_key, idempotencyKey: key }).catch(() => undefined);
      let pid: number | undefined;
      for (let i = 0; !pid && i < 200; i++) {
        await sleep(25);
        // Waiting to parse its insert into the locked table (before pg_stat_activity shows the statement).
        const waiting: { pid: number }[] = (await locker.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`)).rows;
        pid = waiting[0]?.pid;
      }
      expect(pid).toBeDefined();
      child.process.kill('SIGSTOP');
      await locker.query('COMMIT');

      // The same key elsewhere waits at most the lock timeout, then is told to come back; other keys are not held up.
      const started = performance.now();
      const [sameKey, otherKey] = await Promise.all([
        call(stack.baseUrl, 'PATCH', `/v1/payments/${payment.id}`, update, { key: merchant.test_key, idempotencyKey: key }),
        call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() }),
      ]);
      expect(otherKey.status).toBe(201);
      expect([409, 503]).toContain(sameKey.status);
      expect(sameKey.headers.get('retry-after')).toMatch(/^[0-9]+$/);
      expect(performance.now() - started).toBeLessThan(1_000 + 2_000);

      // Postgres ends the paused session and rolls its transaction back: its change never happened.
      let alive = true;
      for (let i = 0; alive && i < 80; i++) {
        await sleep(50);
        alive = (await locker.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;
      }
      expect(alive).toBe(false);
      expect(await stack.db.query('SELECT description FROM payments WHERE id = $1', [payment.id])).toEqual([{ description: null }]);
      expect(await stack.db.query(`SELECT id FROM events WHERE payment_id = $1 AND type = 'payment.updated'`, [payment.id])).toEqual([]);
    } finally {
      child?.process.kill('SIGKILL');
      await locker.end();
      await stack.close();
    }
  });
});
