import type { MigrationInterface, QueryRunner } from 'typeorm';

export class JobSchemaForPgBoss121764100000000 implements MigrationInterface {
  name = 'JobSchemaForPgBoss121764100000000';

  /**
   * pg-boss 12 migrates its schema only from version 25 on; pg-boss 10 left version 24. The schema
   * holds nothing that is not made again at boot: the reconcile queue's runs (triggers without data;
   * what is due lives in payments and refunds) and its cron entry. So a schema too old to migrate is
   * dropped, and pg-boss installs its own afresh when the server starts.
   */
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      DECLARE installed integer;
      BEGIN
        IF to_regclass('pgboss.version') IS NOT NULL THEN
          -- Dynamic, as the table need not exist when the block is planned.
          EXECUTE 'SELECT max(version) FROM pgboss.version' INTO installed;
          IF installed < 25 THEN
            DROP SCHEMA pgboss CASCADE;
          END IF;
        END IF;
      END $$`);
  }

  /** pg-boss 10 installs its own schema again when started on a database without one. */
  async down(): Promise<void> {}
}
