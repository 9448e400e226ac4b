import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { Shutdown } from '../../src/lifecycle/shutdown.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** A probe: outside /v1 and the contract, no API key. */
const probe = (stack: Stack, which: 'live' | 'ready') => call(stack.baseUrl, 'GET', `/health/${which}`, undefined, { spec: false });

async function untilReady(stack: Stack, status: number): Promise<Awaited<ReturnType<typeof probe>>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await probe(stack, 'ready');
    if (res.status === status) return res;
    if (Date.now() > deadline) throw new Error(`readiness stayed ${res.status}: ${res.text}`);
    await sleep(100);
  }
}

describe('/health/live and /health/ready', () => {
  it('answer 200 without an API key; ready says the database answers, no migration is pending, jobs are off, the process is not draining', async () => {
    const stack = await startStack();
    try {
      const live = await probe(stack, 'live');
      expect(live.status).toBe(200);
      expect(live.body).toEqual({ status: 'ok' });
      const ready = await probe(stack, 'ready');
      expect(ready.status).toBe(200);
      expect(ready.headers.get('content-type')).toMatch(/^application\/json/);
      expect(ready.headers.get('cache-control')).toBe('no-store');
      expect(ready.body).toMatchObject({
        status: 'ok',
        error: {},
        details: {
          draining: { status: 'up' },
          database: { status: 'up' },
          migrations: { status: 'up' },
          jobs: { status: 'up', enabled: false },
        },
      });
      // Not under the API's authentication: an invalid key changes nothing.
      expect((await call(stack.baseUrl, 'GET', '/health/ready', undefined, { key: 'sk_test_nope', spec: false })).status).toBe(200);
      expect((await call(stack.baseUrl, 'GET', '/v1/health/ready', undefined, { spec: false })).status).toBe(404);
    } finally {
      await stack.close();
    }
  });

  it('with jobs on: ready lists the running job workers', async () => {
    const stack = await startStack({ jobsEnabled: true, reconcileBaseMs: 120_000 });
    try {
      const ready = await probe(stack, 'ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.jobs).toMatchObject({ status: 'up', enabled: true });
      expect([...ready.body.details.jobs.queues].sort()).toEqual(['provider-webhooks', 'reconcile', 'webhook-delivery']);
    } finally {
      await stack.close();
      // The reconcile run it left queued two minutes ahead would hold the stately queue for the next stacks.
      const client = new pg.Client({ connectionString: inject('databaseUrl') });
      await client.connect();
      await client.query(`DELETE FROM pgboss.job WHERE name IN ('reconcile', 'webhook-delivery') AND state = 'created'`).finally(() => client.end());
    }
  });

  it('503 while a migration of this build is not applied, naming it; 200 once it is', async () => {
    const stack = await startStack();
    const [row] = await stack.db.query(`SELECT id, timestamp, name FROM migrations ORDER BY timestamp DESC LIMIT 1`);
    try {
      await stack.db.query('DELETE FROM migrations WHERE id = $1', [row.id]);
      const pending = await probe(stack, 'ready');
      expect(pending.status).toBe(503);
      expect(pending.headers.get('retry-after')).toBe('1');
      expect(pending.body).toMatchObject({ status: 'error', error: { migrations: { status: 'down', message: `pending: ${row.name}` } }, info: { database: { status: 'up' } } });
    } finally {
      await stack.db.query('INSERT INTO migrations (id, timestamp, name) VALUES ($1, $2, $3)', [row.id, row.timestamp, row.name]);
    }
    try {
      expect((await probe(stack, 'ready')).status).toBe(200);
    } finally {
      await stack.close();
    }
  });

  it('false (503) while Postgres is unreachable and true again once it is back; live stays 200 throughout', async () => {
    const direct = new URL(inject('databaseUrl'));
    const proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    const stack = await startStack({ databaseUrl: proxy.url(direct.toString()), databasePoolTimeoutMs: 500 });
    try {
      await resetStack(stack);
      const merchant = await createMerchant(stack);
      expect((await probe(stack, 'ready')).status).toBe(200);

      await proxy.cut();
      const down = await untilReady(stack, 503);
      expect(down.body).toMatchObject({ status: 'error', error: { database: { status: 'down', message: 'the database did not answer' } } });
      // The probe tells what failed, never the driver's message (which may name hosts and ports).
      expect(down.text).not.toContain(String(proxy.port));
      expect((await probe(stack, 'live')).status).toBe(200);

      // A hung network as well: the probe answers within its short timeout, never hangs.
      await proxy.restore();
      await untilReady(stack, 200);
      proxy.freeze();
      const started = performance.now();
      const frozen = await probe(stack, 'ready');
      expect(frozen.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1_000 + 1_000);
      expect((await probe(stack, 'live')).status).toBe(200);

      await proxy.restore();
      const back = await untilReady(stack, 200);
      expect(back.body.details.database.status).toBe('up');
      // And the pool serves requests again.
      expect((await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() })).status).toBe(201);
    } finally {
      await proxy.restore();
      await stack.close();
      await proxy.close();
    }
  });

  it('false from the moment shutdown begins, while live stays 200 and other requests are told to go elsewhere', async () => {
    const stack = await startStack();
    try {
      await resetStack(stack);
      const merchant = await createMerchant(stack);
      stack.app.get(Shutdown).begin();
      const ready = await probe(stack, 'ready');
      expect(ready.status).toBe(503);
      expect(ready.headers.get('connection')).toBe('close');
      expect(ready.body).toMatchObject({ status: 'error', error: { draining: { status: 'down', message: 'shutting down' } } });
      expect(ready.body.details.database).toBeUndefined();
      expect((await probe(stack, 'live')).status).toBe(200);
      const refused = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('service-unavailable');
      expect(refused.headers.get('connection')).toBe('close');
      expect(await stack.db.query('SELECT id FROM idempotency_keys')).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});
