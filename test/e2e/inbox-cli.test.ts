import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refundKeyOf } from '../../src/refunds/refund.js';
import { InboxProcessor } from '../../src/webhooks/inbound/inbox-processor.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { eventFor, newSecret, postEvent, signedHeaders } from '../support/provider-events.js';

const run = promisify(execFile);
const secret = newSecret();
let stack: Stack;

/** The built CLI (`npm test` builds first), on the test database; its one JSON line, parsed. */
async function cli(...args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'inbox', ...args], { env: { ...process.env, DATABASE_URL: stack.config.databaseUrl } });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  stack = await startStack({
    sandboxWebhookSecrets: [secret],
    // Three quick tries, and a lock wait short enough that a locked payment fails a try at once.
    inboxMaxAttempts: 3,
    inboxRetryBaseMs: 1,
    inboxRetryMaxMs: 5,
    databaseLockTimeoutMs: 200,
    providerRetryBaseMs: 5,
    providerRetryMaxMs: 20,
    breakerConsecutiveFailures: 1_000,
    breakerMinimumCalls: 10_000,
    breakerWindowSize: 10_000,
    reconcileBaseMs: 120_000,
  });
  await resetStack(stack);
});
afterAll(() => stack.close());

describe('a provider event that keeps failing', () => {
  it('ends dead after inboxMaxAttempts tries, is listed by the CLI, and once redriven (by id or --dead) is applied', async () => {
    const merchant = await createMerchant(stack);
    const paid = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    // Two refunds the provider executed but whose answers were lost: processing, for their webhooks.
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    const refunds = [];
    for (let i = 0; i < 2; i++) {
      refunds.push(await call(stack.baseUrl, 'POST', `/v1/payments/${paid.body.id}/refunds`, { amount: 1_000 }, { key: merchant.test_key, idempotencyKey: randomUUID() }));
    }
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
    expect(refunds.map((r) => r.status)).toEqual([202, 202]);
    for (const refund of refunds) {
      const event = await eventFor(stack, refundKeyOf(refund.body.id));
      expect((await postEvent(stack.baseUrl, event.body, signedHeaders(secret, event.id, event.body))).status).toBe(200);
    }
    const ids = (await stack.db.query('SELECT id FROM inbox_events ORDER BY id')).map((r: { id: string }) => r.id);

    // The payment's row is held by another transaction: every try waits out the lock timeout and fails.
    const holder = new pg.Client({ connectionString: stack.config.databaseUrl });
    await holder.connect();
    const processor = stack.app.get(InboxProcessor);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM payments WHERE id = $1 FOR UPDATE', [paid.body.id]);
      for (let pass = 0; pass < 50; pass++) {
        await processor.runDue();
        const [{ open }] = await stack.db.query(`SELECT count(*)::int AS open FROM inbox_events WHERE status = 'received'`);
        if (open === 0) break;
        await sleep(10);
      }
      const dead = await cli('list', '--status', 'dead');
      expect(dead).toEqual(
        ids.map((id: string) =>
          expect.objectContaining({ id, provider: 'sandbox', type: 'refund.succeeded', status: 'dead', attempts: 3, last_error: expect.stringMatching(/lock timeout/) }),
        ).reverse(),
      );
      expect(await cli('list', '--status', 'applied')).toEqual([]);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const [{ status: stillProcessing }] = await stack.db.query('SELECT status FROM refunds WHERE id = $1', [refunds[0].body.id]);
    expect(stillProcessing).toBe('processing');

    // Redriven by id: back to received, its tries forgotten, and applied by the next pass.
    expect(await cli('redrive', ids[0])).toEqual({ redriven: [ids[0]] });
    expect(await stack.db.query('SELECT status, attempts, last_error FROM inbox_events WHERE id = $1', [ids[0]])).toEqual([
      { status: 'received', attempts: 0, last_error: null },
    ]);
    await processor.runDue();
    // And every dead one with --dead.
    expect(await cli('redrive', '--dead')).toEqual({ redriven: [ids[1]] });
    await processor.runDue();

    const inbox: { status: string; outcome: string }[] = await stack.db.query('SELECT status, outcome FROM inbox_events ORDER BY id');
    expect(inbox).toEqual(refunds.map((r) => ({ status: 'applied', outcome: `refund ${r.body.id} moved to succeeded` })));
    for (const refund of refunds) {
      const fetched = await call(stack.baseUrl, 'GET', `/v1/payments/${paid.body.id}/refunds/${refund.body.id}`, undefined, { key: merchant.test_key });
      expect(fetched.body.status).toBe('succeeded');
    }
    expect(await cli('list')).toHaveLength(2);
  });

  it('refuses a redrive naming nothing, both an id and --dead, or an unknown id, and an unknown --status', async () => {
    for (const args of [['redrive'], ['redrive', '1', '--dead'], ['redrive', 'abc'], ['redrive', '999999'], ['list', '--status', 'lost']]) {
      await expect(cli(...args)).rejects.toMatchObject({ code: 2 });
    }
  });
});
