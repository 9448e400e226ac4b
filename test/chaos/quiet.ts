import pg from 'pg';
import type { WebhookReceiver } from '../support/webhook-receiver.js';
import { sleep } from './fleet.js';

export async function query(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Until nothing is left for a background task: no open key, nothing to settle, apply or deliver. */
export async function untilQuiet(url: string, merchantId: string, hooks: WebhookReceiver, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [state] = await query(
      url,
      `SELECT (SELECT count(*) FROM idempotency_keys WHERE merchant_id = $1 AND recovery_point <> 'finished')
            + (SELECT count(*) FROM payments WHERE merchant_id = $1 AND status IN ('pending', 'processing'))
            + (SELECT count(*) FROM refunds WHERE merchant_id = $1 AND status IN ('pending', 'processing'))
            + (SELECT count(*) FROM inbox_events WHERE status = 'received')
            + (SELECT count(*) FROM events WHERE merchant_id = $1 AND published_at IS NULL)
            + (SELECT count(*) FROM webhook_deliveries WHERE merchant_id = $1 AND status <> 'delivered') AS open,
              (SELECT count(*) FROM events WHERE merchant_id = $1) AS events`,
      [merchantId],
    );
    if (Number(state.open) === 0 && new Set(hooks.ids()).size >= Number(state.events)) return;
    if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await sleep(200);
  }
}
