import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A redelivery starts a fresh retry schedule without renumbering the attempts already recorded:
 * `retry_from` is the attempt count the current schedule started at.
 */
export class DeliveryRetryFrom1764620000000 implements MigrationInterface {
  name = 'DeliveryRetryFrom1764620000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries ADD COLUMN retry_from integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN retry_from`);
  }
}
