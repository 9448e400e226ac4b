import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.js';
import { runMigrations } from '../../src/database/migrations.js';
import { freePort } from '../support/free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** The suite drops the schema of its database: it refuses one whose name does not say it is for tests. */
export function assertTestDatabase(url: string): void {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!name.includes('test')) {
    throw new Error(`refusing to run the tests on database "${name}": its name must contain "test" (they drop its schema)`);
  }
}

/**
 * One database for the whole run: DATABASE_URL, else an embedded Postgres in a temp folder. Its
 * schema is dropped and rebuilt by the real migrations, so it must be a database meant for tests.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.DATABASE_URL;
  let teardown = async () => {};
  if (!url) {
    const dir = await mkdtemp(join(tmpdir(), 'idempay-test-pg-'));
    // Run as root, Postgres runs as the `postgres` user, who must be able to reach its data folder.
    await chmod(dir, 0o755);
    const db = await startEmbeddedPostgres(join(dir, 'data'), await freePort(), 'idempay_test');
    url = db.url;
    teardown = async () => {
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  try {
    assertTestDatabase(url);
  } catch (error) {
    await teardown();
    throw error;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // pg-boss's schema too: what an earlier run (or an earlier pg-boss) left must not decide this one.
  await client.query('DROP SCHEMA IF EXISTS public CASCADE; DROP SCHEMA IF EXISTS pgboss CASCADE; CREATE SCHEMA public;');
  await client.end();
  await runMigrations(url);
  project.provide('databaseUrl', url);
  return teardown;
}
