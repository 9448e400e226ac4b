import type { MigrationInterface, QueryRunner } from 'typeorm';

export class HotUpdates1764400000000 implements MigrationInterface {
  name = 'HotUpdates1764400000000';

  async up(q: QueryRunner): Promise<void> {
    // A payment's outcome and an attempt's answer are each written once, moments after the row:
    // with no index on the columns they change (a partial index's predicate counts as one) and room
    // left on the page, Postgres updates them in place (HOT) instead of adding an entry to every index.
    // next_reconcile_at is set only while a payment is `processing`, so the reconciler's index keeps
    // the same rows.
    await q.query(`DROP INDEX ix_payments_due_reconcile`);
    await q.query(`CREATE INDEX ix_payments_due_reconcile ON payments (next_reconcile_at) WHERE next_reconcile_at IS NOT NULL`);
    await q.query(`ALTER TABLE payments SET (fillfactor = 85)`);
    await q.query(`ALTER TABLE provider_attempts SET (fillfactor = 85)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE provider_attempts RESET (fillfactor)`);
    await q.query(`ALTER TABLE payments RESET (fillfactor)`);
    await q.query(`DROP INDEX ix_payments_due_reconcile`);
    await q.query(`CREATE INDEX ix_payments_due_reconcile ON payments (next_reconcile_at) WHERE status = 'processing'`);
  }
}
