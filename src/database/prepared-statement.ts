import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

/**
 * Runs `text` as a named prepared statement on the DataSource's pool: Postgres parses and plans it
 * once per connection instead of on every call, which the statements of the hot path (large CTEs,
 * many parameters) pay for noticeably. The same pool, so the same timeouts and error handling.
 */
export async function queryPrepared<T>(db: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = (db.driver as PostgresDriver).master as Pool;
  const result = await pool.query({ name, text, values });
  return result.rows as T[];
}
