import { DataSource } from 'typeorm';
import { withAdvisoryLock } from './advisory-lock.js';
import { dataSourceOptions } from './data-source-options.js';

/** Applies pending migrations; returns their names. Safe when several instances start at once. */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = new DataSource(dataSourceOptions(url, 2));
  await dataSource.initialize();
  try {
    // Held on its own connection while the migrations run on another: the second instance waits here.
    const applied = await withAdvisoryLock(dataSource, 'idempay:migrations', () => dataSource.runMigrations({ transaction: 'each' }));
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}

/** The migrations of this build that the database has not applied, by name. */
export async function pendingMigrations(db: DataSource): Promise<string[]> {
  const names = db.migrations.map((migration) => migration.name ?? migration.constructor.name);
  const table = db.options.migrationsTableName ?? 'migrations';
  const applied: { name: string }[] = await db.query(`SELECT name FROM "${table}" WHERE name = ANY($1::text[])`, [names]);
  const done = new Set(applied.map((row) => row.name));
  return names.filter((name) => !done.has(name));
}
