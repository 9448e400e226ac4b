import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CacheChangeNotifications1764200000000 implements MigrationInterface {
  name = 'CacheChangeNotifications1764200000000';

  /**
   * Every instance keeps API keys and the kill switch in memory (`database/change-notifications.ts`).
   * Triggers, not the app, announce the changes, so one made by any path — the CLI, plain SQL, a
   * test — reaches every instance. The payload is `{"table": …, "key": …}`: the changed row's
   * key_hash or provider, on commit; `key` is null after a TRUNCATE, which has no rows to name.
   * An UPDATE names the old key and the new one (the same payload twice is delivered once).
   */
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION idempay_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_LEVEL = 'STATEMENT' THEN
          PERFORM pg_notify('idempay_cache', json_build_object('table', TG_TABLE_NAME, 'key', NULL)::text);
          RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
          PERFORM pg_notify('idempay_cache', json_build_object('table', TG_TABLE_NAME, 'key', to_jsonb(OLD) ->> TG_ARGV[0])::text);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
          PERFORM pg_notify('idempay_cache', json_build_object('table', TG_TABLE_NAME, 'key', to_jsonb(NEW) ->> TG_ARGV[0])::text);
        END IF;
        RETURN NULL;
      END $$`);
    for (const [table, key] of [
      ['api_keys', 'key_hash'],
      ['provider_settings', 'provider'],
    ]) {
      await q.query(`CREATE TRIGGER tr_${table}_notify_change AFTER INSERT OR UPDATE OR DELETE ON ${table}
                     FOR EACH ROW EXECUTE FUNCTION idempay_notify_change('${key}')`);
      await q.query(`CREATE TRIGGER tr_${table}_notify_truncate AFTER TRUNCATE ON ${table}
                     FOR EACH STATEMENT EXECUTE FUNCTION idempay_notify_change('${key}')`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['api_keys', 'provider_settings']) {
      await q.query(`DROP TRIGGER tr_${table}_notify_truncate ON ${table}`);
      await q.query(`DROP TRIGGER tr_${table}_notify_change ON ${table}`);
    }
    await q.query(`DROP FUNCTION idempay_notify_change()`);
  }
}
