import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Webhooks both ways: the provider's events through an inbox, merchants' events through the outbox to their endpoints. */
export class Webhooks1764500000000 implements MigrationInterface {
  name = 'Webhooks1764500000000';

  async up(q: QueryRunner): Promise<void> {
    // A provider's event, stored verified and as received before it is answered; applied by a job.
    await q.query(`
      CREATE TABLE inbox_events (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        provider      text NOT NULL,
        event_id      text NOT NULL,
        type          text NOT NULL,
        payload       text NOT NULL,
        status        text NOT NULL DEFAULT 'received'
                        CONSTRAINT ck_inbox_events_status CHECK (status IN ('received', 'applied', 'ignored', 'dead')),
        attempts      integer NOT NULL DEFAULT 0,
        last_error    text,
        outcome       text,
        received_at   timestamptz NOT NULL DEFAULT now(),
        processed_at  timestamptz,
        CONSTRAINT uq_inbox_events_provider_event UNIQUE (provider, event_id)
      )`);
    await q.query(`CREATE INDEX ix_inbox_events_open ON inbox_events (received_at) WHERE status IN ('received', 'dead')`);

    // Merchants' events: `resource` is data.object as JSON text, the payment or refund as it was when
    // the change committed (text, not jsonb, so its bytes and key order are kept).
    await q.query(`
      ALTER TABLE events
        ADD COLUMN refund_id text CONSTRAINT fk_events_refund REFERENCES refunds (id),
        ADD COLUMN resource text,
        ALTER COLUMN data DROP NOT NULL`);
    // Written before merchants could subscribe: nothing is owed to anyone.
    await q.query(`UPDATE events SET published_at = coalesce(published_at, now())`);
    await q.query(`CREATE INDEX ix_events_merchant_mode_id ON events (merchant_id, mode, id DESC)`);

    await q.query(`
      CREATE TABLE webhook_endpoints (
        id               text PRIMARY KEY,
        merchant_id      text NOT NULL CONSTRAINT fk_webhook_endpoints_merchant REFERENCES merchants (id),
        mode             text NOT NULL CONSTRAINT ck_webhook_endpoints_mode CHECK (mode IN ('test', 'live')),
        url              text NOT NULL,
        description      text,
        enabled_events   text[] NOT NULL,
        status           text NOT NULL DEFAULT 'enabled' CONSTRAINT ck_webhook_endpoints_status CHECK (status IN ('enabled', 'disabled')),
        disabled_reason  text,
        failing_since    timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_webhook_endpoints_merchant_mode_id ON webhook_endpoints (merchant_id, mode, id DESC)`);

    // Kept in clear: every delivery is signed with them. expires_at is set when a rotation replaces one.
    await q.query(`
      CREATE TABLE webhook_endpoint_secrets (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant_id  text NOT NULL,
        endpoint_id  text NOT NULL CONSTRAINT fk_webhook_endpoint_secrets_endpoint REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        secret       text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz
      )`);
    await q.query(`CREATE INDEX ix_webhook_endpoint_secrets_endpoint ON webhook_endpoint_secrets (endpoint_id)`);

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id               text PRIMARY KEY,
        merchant_id      text NOT NULL,
        mode             text NOT NULL,
        event_id         text NOT NULL CONSTRAINT fk_webhook_deliveries_event REFERENCES events (id) ON DELETE CASCADE,
        endpoint_id      text NOT NULL CONSTRAINT fk_webhook_deliveries_endpoint REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        status           text NOT NULL DEFAULT 'pending'
                           CONSTRAINT ck_webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz,
        leased_until     timestamptz,
        last_http_status integer,
        last_error       text,
        delivered_at     timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_webhook_deliveries_event_endpoint UNIQUE (merchant_id, event_id, endpoint_id)
      )`);
    await q.query(`CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX ix_webhook_deliveries_merchant_endpoint ON webhook_deliveries (merchant_id, endpoint_id, id DESC)`);

    await q.query(`
      CREATE TABLE webhook_delivery_attempts (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        merchant_id  text NOT NULL,
        delivery_id  text NOT NULL CONSTRAINT fk_webhook_delivery_attempts_delivery REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempt      integer NOT NULL,
        http_status  integer,
        error        text,
        latency_ms   integer NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, attempt)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['webhook_delivery_attempts', 'webhook_deliveries', 'webhook_endpoint_secrets', 'webhook_endpoints', 'inbox_events']) {
      await q.query(`DROP TABLE ${table}`);
    }
    await q.query(`DROP INDEX ix_events_merchant_mode_id`);
    await q.query(`DELETE FROM events WHERE data IS NULL`);
    await q.query(`ALTER TABLE events DROP COLUMN refund_id, DROP COLUMN resource, ALTER COLUMN data SET NOT NULL`);
  }
}
