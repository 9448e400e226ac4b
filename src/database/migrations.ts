import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options.js';

const LOCK = `hashtext('idempay:migrations')`;

/** Applies pending migrations; returns their names. Safe when several instances start at once. */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = new DataSource(dataSourceOptions(url, 2));
  await dataSource.initialize();
  const lock = dataSource.createQueryRunner();
  try {
    await lock.connect();
    // Held on its own connection while the migrations run on another: the second instance waits here.
    await lock.query(`SELECT pg_advisory_lock(${LOCK})`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    await lock.query(`SELECT pg_advisory_unlock(${LOCK})`);
    return applied.map((migration) => migration.name);
  } finally {
    await lock.release();
    await dataSource.destroy();
  }
}
