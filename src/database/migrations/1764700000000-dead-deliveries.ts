import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The operator console lists the deliveries given up on, the latest first, and counts them. Only
 * dead rows are in the index, so the delivery worker's writes pay for it only when one dies.
 */
export class DeadDeliveries1764700000000 implements MigrationInterface {
  name = 'DeadDeliveries1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_webhook_deliveries_dead ON webhook_deliveries (updated_at DESC, id DESC) WHERE status = 'dead'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_webhook_deliveries_dead`);
  }
}
