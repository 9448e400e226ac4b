import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { call, chargesFor, createMerchant, resetStack, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

let stack: Stack;
let merchant: CreatedMerchant;
const post = (body: unknown, idempotencyKey?: string, key = merchant.test_key) =>
  call(stack.baseUrl, 'POST', '/v1/payments', body, { key, idempotencyKey });

beforeAll(async () => {
  stack = await startStack({}, { live: true });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

async function keyRows(key: string): Promise<number> {
  const rows: { n: number }[] = await stack.db.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [key]);
  return rows[0].n;
}

describe('Idempotency-Key header', () => {
  it('is required: 400 idempotency-key-missing, nothing stored or charged', async () => {
    const res = await post(visa);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('idempotency-key-missing');
    expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(0);
    expect(totalCharges(stack)).toBe(0);
  });

  it.each([
    ['over 255 characters', 'k'.repeat(256)],
    ['a tab inside', 'key\twith-tab'],
    ['a non-ASCII byte', 'caf\u00e9'],
  ])('refuses a key with %s: 400 idempotency-key-invalid, nothing stored', async (_label, bad) => {
    const res = await post(visa, bad);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('idempotency-key-invalid');
    expect(await stack.db.query('SELECT id FROM idempotency_keys')).toHaveLength(0);
    expect(totalCharges(stack)).toBe(0);
  });

  it('accepts a key of exactly 255 printable characters', async () => {
    const res = await post(visa, `${'~'.repeat(250)} a!Z9`);
    expect(res.status).toBe(201);
  });
});

describe('exactly once', () => {
  it('replays the first answer byte for byte with Idempotent-Replayed, charging once', async () => {
    const key = randomUUID();
    const body = { ...visa, description: 'Order 1042', metadata: { order_id: '1042', z: 'last', a: 'first' } };
    const first = await post(body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.headers.get('location')).toBe(`/v1/payments/${first.body.id}`);
    expect(first.body).toMatchObject({ object: 'payment', status: 'succeeded', amount: 5000, currency: 'eur', operation_id: key, livemode: false });

    const again = await post(body, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(chargesFor(stack, first.body.id)).toBe(1);
    expect(totalCharges(stack)).toBe(1);
    expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(1);
  });

  it('replays a body sent with its keys in another order (fingerprint of canonical JSON)', async () => {
    const key = randomUUID();
    const first = await post({ amount: 700, currency: 'usd', payment_method: 'pm_card_visa', metadata: { a: '1', b: '2' } }, key);
    const again = await post({ metadata: { b: '2', a: '1' }, payment_method: 'pm_card_visa', currency: 'usd', amount: 700 }, key);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(totalCharges(stack)).toBe(1);
  });

  it('stores a decline as the answer: 201 failed with failure_code, replayed as is', async () => {
    const key = randomUUID();
    const first = await post({ ...visa, payment_method: 'pm_card_declined' }, key);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
    const again = await post({ ...visa, payment_method: 'pm_card_declined' }, key);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(chargesFor(stack, first.body.id)).toBe(1);
  });

  it('refuses the same key with a different body: 422 naming the fields, nothing charged', async () => {
    const key = randomUUID();
    const first = await post({ ...visa, metadata: { order_id: '1' } }, key);
    const other = await post({ ...visa, amount: 9999, metadata: { order_id: '2' } }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency-key-reused');
    expect(other.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['amount', 'metadata.order_id']);
    expect(other.body.detail).toContain('amount');
    expect(totalCharges(stack)).toBe(1);
    expect(chargesFor(stack, first.body.id)).toBe(1);
    expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(1);
  });

  it('50 concurrent requests with one key: one payment, one charge, the rest replays or 409', async () => {
    stack.sandbox.latencyMs = 300;
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(visa, key)));
    const created = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    const replays = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === 'true');
    const inUse = answers.filter((a) => a.status === 409);
    expect(created).toHaveLength(1);
    expect(replays.length + inUse.length).toBe(49);
    for (const replay of replays) expect(replay.text).toBe(created[0].text);
    for (const conflict of inUse) {
      expect(conflict.body.code).toBe('idempotency-key-in-use');
      expect(Number(conflict.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await stack.db.query('SELECT id FROM payments WHERE operation_id = $1', [key])).toHaveLength(1);
    expect(totalCharges(stack)).toBe(1);
  });

  it('scopes keys per merchant: the same key from two merchants makes two payments', async () => {
    const other = await createMerchant(stack, 'Other merchant');
    const key = randomUUID();
    const mine = await post(visa, key);
    const theirs = await post(visa, key, other.test_key);
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(chargesFor(stack, mine.body.id)).toBe(1);
    expect(chargesFor(stack, theirs.body.id)).toBe(1);
  });

  it('scopes keys per mode: the same key in test and live mode makes two payments', async () => {
    const key = randomUUID();
    const test = await post(visa, key);
    const live = await post(visa, key, merchant.live_key);
    expect(live.status).toBe(201);
    expect(live.body.livemode).toBe(true);
    expect(test.body.livemode).toBe(false);
    expect(live.body.id).not.toBe(test.body.id);
  });

  it('stores nothing for a request refused by validation; the corrected retry with that key succeeds', async () => {
    const key = randomUUID();
    const bad = await post({ ...visa, amount: -5 }, key);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation-failed');
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'amount' })]);
    expect(await keyRows(key)).toBe(0);
    const good = await post(visa, key);
    expect(good.status).toBe(201);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
    expect(totalCharges(stack)).toBe(1);
  });

  it('stores nothing for a request refused by auth; the retry with the right key succeeds', async () => {
    const key = randomUUID();
    const bad = await post(visa, key, 'sk_test_not-a-real-key');
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('api-key-invalid');
    expect(await keyRows(key)).toBe(0);
    const good = await post(visa, key);
    expect(good.status).toBe(201);
    expect(totalCharges(stack)).toBe(1);
  });

  it('derives the provider key from the payment id and never forwards the client key', async () => {
    const key = randomUUID();
    const res = await post(visa, key);
    const attempts: { provider_key: string; outcome: string }[] = await stack.db.query(
      'SELECT provider_key, outcome FROM provider_attempts WHERE payment_id = $1',
      [res.body.id],
    );
    expect(attempts).toEqual([{ provider_key: `${res.body.id}:charge`, outcome: 'succeeded' }]);
    expect(stack.sandbox.executions.has(key)).toBe(false);
  });
});
