import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ProviderResilienceAndRefunds1763900000000 implements MigrationInterface {
  name = 'ProviderResilienceAndRefunds1763900000000';

  async up(q: QueryRunner): Promise<void> {
    // amount_refunded is reserved by a refund in the transaction that creates it, under the payment's
    // row lock; the check makes over-refunding impossible even for code that forgets the lock.
    await q.query(`
      ALTER TABLE payments
        ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0,
        ADD COLUMN reconcile_attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN next_reconcile_at timestamptz,
        ADD CONSTRAINT ck_payments_amount_refunded CHECK (amount_refunded >= 0 AND amount_refunded <= amount)`);
    await q.query(`CREATE INDEX ix_payments_due_reconcile ON payments (next_reconcile_at) WHERE status = 'processing'`);

    await q.query(`
      CREATE TABLE payment_transitions (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant_id  text NOT NULL,
        payment_id   text NOT NULL CONSTRAINT fk_payment_transitions_payment REFERENCES payments (id),
        from_status  text NOT NULL,
        to_status    text NOT NULL,
        reason       text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_payment_transitions_merchant_payment ON payment_transitions (merchant_id, payment_id, id)`);

    await q.query(`
      CREATE TABLE refunds (
        id                   text PRIMARY KEY,
        merchant_id          text NOT NULL CONSTRAINT fk_refunds_merchant REFERENCES merchants (id),
        mode                 text NOT NULL CONSTRAINT ck_refunds_mode CHECK (mode IN ('test', 'live')),
        payment_id           text NOT NULL CONSTRAINT fk_refunds_payment REFERENCES payments (id),
        operation_id         text NOT NULL,
        request_fingerprint  text NOT NULL,
        amount               bigint NOT NULL CONSTRAINT ck_refunds_amount CHECK (amount > 0),
        currency             text NOT NULL,
        reason               text,
        metadata             jsonb NOT NULL DEFAULT '{}',
        status               text NOT NULL CONSTRAINT ck_refunds_status
                               CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
        failure_code         text,
        failure_message      text,
        provider_key         text NOT NULL,
        provider_refund_id   text,
        reconcile_attempts   integer NOT NULL DEFAULT 0,
        next_reconcile_at    timestamptz,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_refunds_merchant_mode_operation UNIQUE (merchant_id, mode, operation_id)
      )`);
    await q.query(`CREATE INDEX ix_refunds_merchant_payment ON refunds (merchant_id, payment_id, id DESC)`);
    await q.query(`CREATE INDEX ix_refunds_due_reconcile ON refunds (next_reconcile_at) WHERE status = 'processing'`);

    // One row per outbound attempt, retries included; lookups and refunds too.
    await q.query(`ALTER TABLE provider_attempts DROP CONSTRAINT ck_provider_attempts_outcome`);
    await q.query(`
      ALTER TABLE provider_attempts
        ADD COLUMN refund_id text,
        ADD COLUMN attempt integer NOT NULL DEFAULT 1,
        ADD COLUMN waited_ms integer NOT NULL DEFAULT 0,
        ADD CONSTRAINT ck_provider_attempts_outcome
          CHECK (outcome IN ('succeeded', 'failed', 'unknown', 'not_found', 'rejected', 'transient'))`);

    // The kill switch: read on every new payment, changed by the CLI, no restart.
    await q.query(`
      CREATE TABLE provider_settings (
        provider    text PRIMARY KEY,
        enabled     boolean NOT NULL DEFAULT true,
        reason      text,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE provider_settings`);
    await q.query(`ALTER TABLE provider_attempts DROP CONSTRAINT ck_provider_attempts_outcome`);
    await q.query(`ALTER TABLE provider_attempts DROP COLUMN refund_id, DROP COLUMN attempt, DROP COLUMN waited_ms`);
    await q.query(`ALTER TABLE provider_attempts ADD CONSTRAINT ck_provider_attempts_outcome CHECK (outcome IN ('succeeded', 'failed', 'unknown'))`);
    await q.query(`DROP TABLE refunds`);
    await q.query(`DROP TABLE payment_transitions`);
    await q.query(`DROP INDEX ix_payments_due_reconcile`);
    await q.query(`ALTER TABLE payments DROP CONSTRAINT ck_payments_amount_refunded, DROP COLUMN amount_refunded, DROP COLUMN reconcile_attempts, DROP COLUMN next_reconcile_at`);
  }
}
