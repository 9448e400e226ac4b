/**
 * The machine's Postgres as the bench sees it: databases of its own, and the cluster's counters
 * read before and after a pass (transactions of one database, the next transaction id, the WAL position).
 */
import pg from 'pg';

export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;

export const databaseUrl = (database, port = PG_PORT) => `postgres://postgres@${PG_HOST}:${port}/${database}`;

export async function connect(database = 'postgres') {
  const client = new pg.Client({ connectionString: databaseUrl(database), connectionTimeoutMillis: 5_000 });
  await client.connect();
  return client;
}

/** The admin connection, or an exit with what to do when there is no Postgres to reach. */
export async function connectAdmin() {
  try {
    return await connect('postgres');
  } catch (error) {
    throw new Error(
      `Postgres is not reachable at ${PG_HOST}:${PG_PORT} as user postgres (${error?.code ?? ''} ${error?.message ?? error}). ` +
        'The bench needs the machine\'s Postgres there, with trust auth for postgres on loopback.',
    );
  }
}

export async function recreateDatabase(admin, name) {
  // CI's database; the bench's names all start with idempay_bench, but a typo must not drop it.
  if (!name.startsWith('idempay_bench')) throw new Error(`refusing to drop ${name}: the bench only owns idempay_bench*`);
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
}

export async function serverFacts(admin) {
  const { rows } = await admin.query(`SELECT version(), current_setting('synchronous_commit') AS synchronous_commit`);
  return rows[0];
}

/**
 * Counters of the cluster now. `xacts` is the database's own (pg_stat_database, as flushed by its
 * backends); `nextXid`, `walBytes` and `checkpoints` are the cluster's: other databases' writes and
 * autovacuum land there too. The next xid is read from a snapshot, because pg_current_xact_id()
 * would assign one itself. A checkpoint inside a pass inflates its WAL (full-page images after it).
 */
export async function counters(admin, database) {
  await admin.query('SELECT pg_stat_clear_snapshot()');
  // Postgres 17 moved the checkpoint counts to pg_stat_checkpointer.
  const checkpoints = Number((await admin.query('SHOW server_version_num')).rows[0].server_version_num) >= 170000
    ? '(SELECT num_timed + num_requested FROM pg_stat_checkpointer)'
    : '(SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)';
  const { rows } = await admin.query(
    `SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1)::bigint AS xacts,
            pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid,
            pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal_bytes,
            ${checkpoints}::bigint AS checkpoints`,
    [database],
  );
  const row = rows[0];
  return { xacts: Number(row.xacts), nextXid: Number(row.next_xid), walBytes: Number(row.wal_bytes), checkpoints: Number(row.checkpoints) };
}

/** The client backends connected to `database`. */
export async function backendPids(admin, database) {
  const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, [database]);
  return rows.map((r) => r.pid);
}

/** Waits until no backend serves `database`: a backend flushes its statistics as it exits. */
export async function untilNoBackends(admin, database, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await backendPids(admin, database)).length > 0) {
    if (Date.now() > deadline) throw new Error(`backends of ${database} still there ${timeoutMs} ms after its server stopped`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
