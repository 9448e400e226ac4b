import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLES = ['idempotency_keys', 'payments', 'refunds', 'events', 'inbox_events'];

/**
 * The W3C traceparent of the request (or job) that wrote a row a job later carries on — a key the
 * completer resumes, a payment or refund the reconciler settles, an event delivered to merchants, a
 * provider event the inbox applies — so that job's logs and spans join the trace that caused it.
 * Nullable, no default: adding it rewrites no table, and rows from before have none.
 */
export class Traceparents1764710000000 implements MigrationInterface {
  name = 'Traceparents1764710000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of TABLES) await q.query(`ALTER TABLE ${table} ADD COLUMN traceparent text`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of TABLES) await q.query(`ALTER TABLE ${table} DROP COLUMN traceparent`);
  }
}
