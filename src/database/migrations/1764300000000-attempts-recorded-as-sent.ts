import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AttemptsRecordedAsSent1764300000000 implements MigrationInterface {
  name = 'AttemptsRecordedAsSent1764300000000';

  async up(q: QueryRunner): Promise<void> {
    // A charge's first attempt is stored with its payment, before it is sent, as `sent` with no
    // latency; its outcome replaces that when the answer is stored. A process that dies in between
    // leaves it `sent`, until a lookup by its key tells how it ended.
    await q.query(`ALTER TABLE provider_attempts DROP CONSTRAINT ck_provider_attempts_outcome`);
    await q.query(`
      ALTER TABLE provider_attempts
        ALTER COLUMN latency_ms DROP NOT NULL,
        ADD CONSTRAINT ck_provider_attempts_outcome
          CHECK (outcome IN ('sent', 'succeeded', 'failed', 'unknown', 'not_found', 'rejected', 'transient'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE provider_attempts SET outcome = 'unknown', latency_ms = coalesce(latency_ms, 0) WHERE outcome = 'sent' OR latency_ms IS NULL`);
    await q.query(`ALTER TABLE provider_attempts DROP CONSTRAINT ck_provider_attempts_outcome`);
    await q.query(`
      ALTER TABLE provider_attempts
        ALTER COLUMN latency_ms SET NOT NULL,
        ADD CONSTRAINT ck_provider_attempts_outcome
          CHECK (outcome IN ('succeeded', 'failed', 'unknown', 'not_found', 'rejected', 'transient'))`);
  }
}
