import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { Sweeper } from '../../src/idempotency/sweeper.js';
import { call, chargesFor, createMerchant, resetStack, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

let stack: Stack;
let merchant: CreatedMerchant;
const post = (body: unknown, idempotencyKey: string) => call(stack.baseUrl, 'POST', '/v1/payments', body, { key: merchant.test_key, idempotencyKey });

beforeAll(async () => {
  // Keys are aged in SQL here, behind the back of the in-memory replay cache: without it, every retry reads Postgres.
  stack = await startStack({ idempotencyTtlHours: 24, sweeperBatchSize: 2, replayCacheMaxBytes: 0 });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

/** Moves keys' creation back in time, as if they had been made `hours` ago. */
async function age(hours: number, keys?: string[]): Promise<void> {
  await stack.db.query(
    `UPDATE idempotency_keys SET created_at = now() - make_interval(hours => $1) WHERE $2::text[] IS NULL OR key = ANY($2)`,
    [hours, keys ?? null],
  );
}

async function keyCount(): Promise<number> {
  return (await stack.db.query('SELECT count(*)::int AS n FROM idempotency_keys'))[0].n;
}

describe('key expiry', () => {
  it('the sweeper deletes finished keys past the TTL, in batches, and keeps the younger ones', async () => {
    const old = Array.from({ length: 5 }, () => randomUUID());
    for (const key of old) expect((await post(visa, key)).status).toBe(201);
    const young = randomUUID();
    await post(visa, young);
    await age(25, old);
    await age(23, [young]);

    // Batches of 2 (SWEEPER_BATCH_SIZE): 5 keys take three batches in one pass.
    expect(await stack.app.get(Sweeper).runOnce()).toBe(5);
    const left: { key: string }[] = await stack.db.query('SELECT key FROM idempotency_keys');
    expect(left).toEqual([{ key: young }]);
    // The payments stay: only the cached answers expire.
    expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(6);
  });

  it('never deletes an unfinished key, however old', async () => {
    const key = randomUUID();
    await post(visa, key);
    await stack.db.query(`UPDATE idempotency_keys SET recovery_point = 'payment_created', response_status = NULL, response_body = NULL`);
    await age(48);
    expect(await stack.app.get(Sweeper).runOnce()).toBe(0);
    expect(await keyCount()).toBe(1);
  });

  it('a retry after expiry with the same body finds the payment by operation_id: no second charge', async () => {
    const key = randomUUID();
    const first = await post(visa, key);
    await age(25);
    await stack.app.get(Sweeper).runOnce();
    expect(await keyCount()).toBe(0);

    const retry = await post(visa, key);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.body.status).toBe('succeeded');
    expect(chargesFor(stack, first.body.id)).toBe(1);
    expect(totalCharges(stack)).toBe(1);
    expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(1);
    // The key is claimed again with that answer, so the next retry is a plain replay.
    const replay = await post(visa, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(retry.text);
  });

  it('a retry after expiry with a different body is 422 naming the field: no second charge', async () => {
    const key = randomUUID();
    await post(visa, key);
    await age(25);
    await stack.app.get(Sweeper).runOnce();

    const other = await post({ ...visa, amount: 1234 }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency-key-reused');
    expect(other.body.errors).toEqual([expect.objectContaining({ field: 'amount' })]);
    expect(totalCharges(stack)).toBe(1);
    expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(1);
  });
});
