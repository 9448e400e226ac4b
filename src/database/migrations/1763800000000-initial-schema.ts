import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763800000000 implements MigrationInterface {
  name = 'InitialSchema1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE merchants (
        id          text PRIMARY KEY,
        name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);

    // Looked up by hash before the merchant is known, so its unique key cannot start with merchant_id.
    await q.query(`
      CREATE TABLE api_keys (
        id           text PRIMARY KEY,
        merchant_id  text NOT NULL CONSTRAINT fk_api_keys_merchant REFERENCES merchants (id),
        mode         text NOT NULL CONSTRAINT ck_api_keys_mode CHECK (mode IN ('test', 'live')),
        key_hash     text NOT NULL CONSTRAINT uq_api_keys_key_hash UNIQUE,
        key_hint     text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        revoked_at   timestamptz
      )`);
    await q.query(`CREATE INDEX ix_api_keys_merchant ON api_keys (merchant_id)`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant_id       text NOT NULL CONSTRAINT fk_idempotency_keys_merchant REFERENCES merchants (id),
        mode              text NOT NULL CONSTRAINT ck_idempotency_keys_mode CHECK (mode IN ('test', 'live')),
        key               text NOT NULL CONSTRAINT ck_idempotency_keys_key CHECK (length(key) BETWEEN 1 AND 255),
        method            text NOT NULL,
        route             text NOT NULL,
        path              text NOT NULL,
        path_params       jsonb NOT NULL DEFAULT '{}',
        fingerprint       text NOT NULL,
        request_params    jsonb NOT NULL,
        recovery_point    text NOT NULL DEFAULT 'started',
        resource_id       text,
        locked_at         timestamptz,
        locked_by         uuid,
        response_status   integer,
        response_headers  jsonb,
        response_body     text,
        created_at        timestamptz NOT NULL DEFAULT now(),
        finished_at       timestamptz,
        CONSTRAINT uq_idempotency_keys_merchant_mode_key UNIQUE (merchant_id, mode, key),
        CONSTRAINT ck_idempotency_keys_finished CHECK (
          (recovery_point = 'finished') = (response_status IS NOT NULL AND response_body IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX ix_idempotency_keys_unfinished ON idempotency_keys (locked_at)
                   WHERE recovery_point <> 'finished'`);
    await q.query(`CREATE INDEX ix_idempotency_keys_finished_created ON idempotency_keys (created_at)
                   WHERE recovery_point = 'finished'`);

    await q.query(`
      CREATE TABLE payments (
        id                   text PRIMARY KEY,
        merchant_id          text NOT NULL CONSTRAINT fk_payments_merchant REFERENCES merchants (id),
        mode                 text NOT NULL CONSTRAINT ck_payments_mode CHECK (mode IN ('test', 'live')),
        operation_id         text NOT NULL,
        request_fingerprint  text NOT NULL,
        amount               bigint NOT NULL CONSTRAINT ck_payments_amount CHECK (amount > 0),
        currency             text NOT NULL CONSTRAINT ck_payments_currency CHECK (currency ~ '^[a-z]{3}$'),
        payment_method       text NOT NULL,
        description          text,
        metadata             jsonb NOT NULL DEFAULT '{}',
        status               text NOT NULL CONSTRAINT ck_payments_status
                               CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
        failure_code         text,
        failure_message      text,
        provider_key         text NOT NULL,
        provider_charge_id   text,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_payments_merchant_mode_operation UNIQUE (merchant_id, mode, operation_id)
      )`);
    await q.query(`CREATE INDEX ix_payments_merchant_mode_id ON payments (merchant_id, mode, id DESC)`);

    await q.query(`
      CREATE TABLE provider_attempts (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant_id   text NOT NULL,
        payment_id    text NOT NULL CONSTRAINT fk_provider_attempts_payment REFERENCES payments (id),
        provider      text NOT NULL,
        operation     text NOT NULL,
        provider_key  text NOT NULL,
        outcome       text NOT NULL CONSTRAINT ck_provider_attempts_outcome
                        CHECK (outcome IN ('succeeded', 'failed', 'unknown')),
        http_status   integer,
        error         text,
        latency_ms    integer NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_provider_attempts_merchant_payment ON provider_attempts (merchant_id, payment_id)`);

    // The transactional outbox: written in the same transaction as the state change it reports.
    await q.query(`
      CREATE TABLE events (
        id            text PRIMARY KEY,
        merchant_id   text NOT NULL,
        mode          text NOT NULL,
        payment_id    text NOT NULL CONSTRAINT fk_events_payment REFERENCES payments (id),
        sequence      integer NOT NULL,
        type          text NOT NULL,
        data          jsonb NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        published_at  timestamptz,
        CONSTRAINT uq_events_merchant_payment_sequence UNIQUE (merchant_id, payment_id, sequence)
      )`);
    await q.query(`CREATE INDEX ix_events_unpublished ON events (created_at) WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['events', 'provider_attempts', 'payments', 'idempotency_keys', 'api_keys', 'merchants']) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
