import type { DataSource } from 'typeorm';

const POLL_MS = 100;

/**
 * Runs `work` while holding the session advisory lock `name` on a connection of its own, so the same
 * step in another process waits until this one is done. The lock needs no cleanup if the process
 * dies: Postgres releases it with the connection. It is waited for by polling: the app's connections
 * end any statement after DATABASE_STATEMENT_TIMEOUT_MS, which a blocking wait could outlast.
 */
export async function withAdvisoryLock<T>(db: DataSource, name: string, work: () => Promise<T>): Promise<T> {
  const lock = db.createQueryRunner();
  try {
    await lock.connect();
    for (;;) {
      const [{ locked }]: { locked: boolean }[] = await lock.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
      if (locked) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    try {
      return await work();
    } finally {
      // Before the connection goes back to the pool, where the lock would otherwise stay held.
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
    }
  } finally {
    await lock.release();
  }
}
