import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a provider event is next due: the inbox keeps its own retry schedule (and the lease of the
 * worker applying it), so a failed try, a redrive from the CLI and a job lost with its process are
 * all picked up by the same periodic pass, whatever became of the pg-boss job.
 */
export class InboxSchedule1764600000000 implements MigrationInterface {
  name = 'InboxSchedule1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbox_events ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`CREATE INDEX ix_inbox_events_due ON inbox_events (next_attempt_at) WHERE status = 'received'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_inbox_events_due`);
    await q.query(`ALTER TABLE inbox_events DROP COLUMN next_attempt_at`);
  }
}
