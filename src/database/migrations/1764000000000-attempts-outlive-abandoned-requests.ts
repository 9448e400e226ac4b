import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AttemptsOutliveAbandonedRequests1764000000000 implements MigrationInterface {
  name = 'AttemptsOutliveAbandonedRequests1764000000000';

  async up(q: QueryRunner): Promise<void> {
    // A payment refused after its call (the provider answered 429, or was never reached) is removed
    // with its claim; the record of the calls made for it stays, as evidence of what was sent.
    await q.query(`ALTER TABLE provider_attempts DROP CONSTRAINT fk_provider_attempts_payment`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM provider_attempts a WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = a.payment_id)`);
    await q.query(`ALTER TABLE provider_attempts ADD CONSTRAINT fk_provider_attempts_payment FOREIGN KEY (payment_id) REFERENCES payments (id)`);
  }
}
