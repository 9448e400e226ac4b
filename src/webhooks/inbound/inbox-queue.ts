import type { PgBoss } from 'pg-boss';
import type { EntityManager } from 'typeorm';

/** The pg-boss queue that wakes a worker for each provider event stored. */
export const INBOX_QUEUE = 'provider-webhooks';

export interface InboxJob {
  id: string;
}

/**
 * Queues the event's job in the caller's transaction (pg-boss runs its insert through `db`), so the
 * event and its job commit together: no crash can leave one without the other.
 */
export async function enqueueInTransaction(boss: PgBoss, m: EntityManager, id: string): Promise<void> {
  const runner = m.queryRunner;
  if (!runner) throw new Error('enqueueInTransaction needs the entity manager of a transaction');
  const db = { executeSql: async (text: string, values?: unknown[]) => ({ rows: (await runner.query(text, values, true)).records }) };
  await boss.send(INBOX_QUEUE, { id } satisfies InboxJob, { db });
}
