import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox } from '../../src/sandbox-provider/sandbox-server.js';
import { type ChildServer, startChildServer } from '../support/child-server.js';
import { call } from '../support/harness.js';
import { createScratchDatabase } from '../support/scratch-database.js';

/**
 * With pg-boss 10 and no lock around its bootstrap, 12 pairs in 20 lost one server to a deadlock in its
 * createQueue: 5 tries all miss it with p ≈ 0.01. Each try boots two servers, ~8 s here.
 */
const TRIES = 5;

let sandbox: ReturnType<typeof buildSandbox>;
let sandboxUrl: string;

beforeAll(async () => {
  sandbox = buildSandbox();
  await sandbox.app.listen({ port: 0, host: '127.0.0.1' });
  const address = sandbox.app.server.address();
  sandboxUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(() => sandbox.app.close());

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function stop(child: ChildServer): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

describe('instances booting together on a fresh database', () => {
  it(`two servers with jobs start at once, ${TRIES} times: both serve, pg-boss is installed once, no demo merchant`, async () => {
    for (let attempt = 1; attempt <= TRIES; attempt++) {
      const database = await createScratchDatabase(`boot_${attempt}`);
      const env = { DATABASE_URL: database.url, SANDBOX_URL: sandboxUrl, JOBS_ENABLED: 'true' };
      const started = await Promise.allSettled([startChildServer(env), startChildServer(env)]);
      const children = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      try {
        const failures = started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
        expect(failures, `try ${attempt}`).toEqual([]);
        for (const child of children) {
          const answer = await call(child.baseUrl, 'GET', '/v1/payments');
          expect(answer.status).toBe(401);
          expect(child.process.exitCode).toBeNull();
        }
        expect(await query(database.url, `SELECT nspname FROM pg_namespace WHERE nspname = 'pgboss'`)).toHaveLength(1);
        expect(await query(database.url, 'SELECT version FROM pgboss.version')).toHaveLength(1);
        expect(await query(database.url, `SELECT name FROM pgboss.queue ORDER BY name`)).toEqual([
          { name: '__pgboss__send-it' },
          { name: 'provider-webhooks' },
          { name: 'reconcile' },
          { name: 'webhook-delivery' },
        ]);
        expect(await query(database.url, `SELECT name FROM pgboss.schedule ORDER BY name`)).toEqual([{ name: 'reconcile' }, { name: 'webhook-delivery' }]);
        // A database named by DATABASE_URL is never given a demo merchant, nor is a key printed.
        expect(await query(database.url, 'SELECT id FROM merchants')).toEqual([]);
        for (const child of children) expect(child.output()).not.toMatch(/sk_(test|live)_/);
      } finally {
        await Promise.all(children.map(stop));
        await database.drop();
      }
    }
  }, 120_000);
});

describe('a database whose job schema an earlier pg-boss left', () => {
  it('pg-boss 10\'s schema (version 24, which pg-boss 12 cannot migrate) is replaced at boot, and the reconcile job runs', async () => {
    const database = await createScratchDatabase('old_pgboss');
    let child: ChildServer | undefined;
    try {
      await query(database.url, `CREATE SCHEMA pgboss;
        CREATE TABLE pgboss.version (version int PRIMARY KEY, maintained_on timestamptz, cron_on timestamptz, monitored_on timestamptz);
        INSERT INTO pgboss.version (version) VALUES (24);
        CREATE TABLE pgboss.job (id uuid PRIMARY KEY, name text);`);
      child = await startChildServer({ DATABASE_URL: database.url, SANDBOX_URL: sandboxUrl, JOBS_ENABLED: 'true' });
      expect((await call(child.baseUrl, 'GET', '/v1/payments')).status).toBe(401);
      const [{ version }] = await query<{ version: number }>(database.url, 'SELECT version FROM pgboss.version');
      expect(version).toBeGreaterThanOrEqual(25);
      expect(await query(database.url, `SELECT name FROM pgboss.queue WHERE name = 'reconcile'`)).toEqual([{ name: 'reconcile' }]);
      expect(await query(database.url, `SELECT name FROM pgboss.schedule ORDER BY name`)).toEqual([{ name: 'reconcile' }, { name: 'webhook-delivery' }]);
    } finally {
      if (child) await stop(child);
      await database.drop();
    }
  }, 60_000);
});
