import pg from 'pg';
import { inject } from 'vitest';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A new, empty database beside the suite's, named after it (`<suite>_<suffix>`, so it contains
 * "test" like the suite's own), for tests that need a fresh database or one no other test touches.
 */
export async function createScratchDatabase(suffix: string): Promise<ScratchDatabase> {
  const suiteUrl = new URL(inject('databaseUrl'));
  const name = `${decodeURIComponent(suiteUrl.pathname.slice(1))}_${suffix}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: suiteUrl.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const quoted = `"${name.replace(/"/g, '""')}"`;
  // A leftover from an interrupted run would otherwise make this one start from its state.
  await admin(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${quoted}`);
  const url = new URL(suiteUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`) };
}
