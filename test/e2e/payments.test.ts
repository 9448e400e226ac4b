import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { call, chargesFor, createMerchant, resetStack, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

let stack: Stack;
let merchant: CreatedMerchant;
const create = (body: unknown = visa, key = merchant.test_key) =>
  call(stack.baseUrl, 'POST', '/v1/payments', body, { key, idempotencyKey: randomUUID() });
const get = (path: string, key = merchant.test_key) => call(stack.baseUrl, 'GET', path, undefined, { key });
const patch = (id: string, body: unknown, idempotencyKey = randomUUID()) =>
  call(stack.baseUrl, 'PATCH', `/v1/payments/${id}`, body, { key: merchant.test_key, idempotencyKey });

beforeAll(async () => {
  stack = await startStack({ providerTimeoutMs: 300 }, { live: true });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

describe('create', () => {
  it('returns the full Payment and stores amounts as integer minor units per currency', async () => {
    const yen = await create({ amount: 500, currency: 'JPY', payment_method: 'pm_card_visa' });
    expect(yen.status).toBe(201);
    expect(yen.body).toEqual({
      id: expect.stringMatching(/^pay_[0-9A-Z]{26}$/),
      object: 'payment',
      amount: 500,
      amount_refunded: 0,
      currency: 'jpy',
      status: 'succeeded',
      payment_method: 'pm_card_visa',
      description: null,
      metadata: {},
      failure_code: null,
      failure_message: null,
      operation_id: expect.any(String),
      livemode: false,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const rows: { amount: string; currency: string }[] = await stack.db.query('SELECT amount, currency FROM payments');
    expect(rows).toEqual([{ amount: '500', currency: 'jpy' }]);
  });

  it.each([
    ['pm_card_insufficient_funds', 'insufficient_funds'],
    ['pm_card_expired', 'expired_card'],
    ['pm_card_unknown_token', 'invalid_payment_method'],
  ])('a decline with %s is a stored 201 failed/%s', async (method, code) => {
    const res = await create({ ...visa, payment_method: method });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'failed', failure_code: code, failure_message: expect.any(String) });
  });

  it('an outcome the provider has not given in time is 202 processing with Location, replayed as such', async () => {
    stack.sandbox.latencyMs = 1_000;
    const key = randomUUID();
    const res = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('processing');
    expect(res.headers.get('location')).toBe(`/v1/payments/${res.body.id}`);
    const replay = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    expect(replay.status).toBe(202);
    expect(replay.text).toBe(res.text);
    // Each attempt timed out (300 ms) and was retried, at most twice, with the same provider key.
    const attempts: { outcome: string; error: string; provider_key: string; attempt: number }[] = await stack.db.query(
      'SELECT outcome, error, provider_key, attempt FROM provider_attempts ORDER BY attempt',
    );
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts.length).toBeLessThanOrEqual(3);
    expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
    for (const attempt of attempts) expect(attempt).toMatchObject({ outcome: 'transient', error: 'provider timeout', provider_key: `${res.body.id}:charge` });
    const transitions: { from_status: string; to_status: string; reason: string }[] = await stack.db.query(
      'SELECT from_status, to_status, reason FROM payment_transitions',
    );
    expect(transitions).toEqual([{ from_status: 'pending', to_status: 'processing', reason: 'unknown: provider timeout' }]);
  });

  it('writes the outbox event in the same transaction as the outcome', async () => {
    const res = await create();
    const events: { type: string; sequence: number; payment_id: string }[] = await stack.db.query(
      'SELECT type, sequence, payment_id FROM events ORDER BY sequence',
    );
    expect(events).toEqual([{ type: 'payment.succeeded', sequence: 1, payment_id: res.body.id }]);
  });
});

describe('retrieve and list', () => {
  it('GET /v1/payments/{id} returns what the create returned', async () => {
    const created = await create({ ...visa, metadata: { order: '7' } });
    const fetched = await get(`/v1/payments/${created.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
  });

  it('lists newest first, pages with limit and starting_after, and keeps merchants and modes apart', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create({ ...visa, amount: 100 + i })).body.id);
    await create(visa, merchant.live_key);
    const other = await createMerchant(stack, 'Other');
    await create(visa, other.test_key);

    const first = await get('/v1/payments?limit=2');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'list', url: '/v1/payments', has_more: true });
    expect(first.body.data.map((p: { id: string }) => p.id)).toEqual([ids[4], ids[3]]);

    const second = await get(`/v1/payments?limit=2&starting_after=${ids[3]}`);
    expect(second.body.data.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
    expect(second.body.has_more).toBe(true);

    const last = await get(`/v1/payments?limit=2&starting_after=${ids[1]}`);
    expect(last.body.data.map((p: { id: string }) => p.id)).toEqual([ids[0]]);
    expect(last.body.has_more).toBe(false);

    const all = await get('/v1/payments');
    expect(all.body.data).toHaveLength(5);
    expect(all.body.data.every((p: { livemode: boolean }) => !p.livemode)).toBe(true);
    const live = await get('/v1/payments', merchant.live_key);
    expect(live.body.data).toHaveLength(1);
  });

  it.each([['limit=0'], ['limit=101'], ['limit=abc'], ['starting_after=nope'], ['unknown=1']])('refuses ?%s with 400', async (query) => {
    const res = await get(`/v1/payments?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
  });
});

describe('PATCH /v1/payments/{id} is idempotent too', () => {
  it('merges metadata (an empty value removes a key), sets the description, and replays byte for byte', async () => {
    const created = await create({ ...visa, metadata: { keep: '1', drop: '2' } });
    const key = randomUUID();
    const body = { description: 'gift', metadata: { drop: '', added: '3' } };
    const updated = await patch(created.body.id, body, key);
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, description: 'gift', metadata: { keep: '1', added: '3' } });

    const replay = await patch(created.body.id, body, key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(updated.text);

    const events: { type: string; sequence: number }[] = await stack.db.query('SELECT type, sequence FROM events ORDER BY sequence');
    expect(events).toEqual([
      { type: 'payment.succeeded', sequence: 1 },
      { type: 'payment.updated', sequence: 2 },
    ]);
    expect(chargesFor(stack, created.body.id)).toBe(1);
  });

  it('an empty metadata value is kept as sent by a create, kept by an update that does not name it, removed by one that sets it empty', async () => {
    const created = await create({ ...visa, metadata: { gift: '', order: '1042' } });
    expect(created.status).toBe(201);
    expect(created.body.metadata).toEqual({ gift: '', order: '1042' });
    const described = await patch(created.body.id, { description: 'gift' });
    expect(described.body.metadata).toEqual({ gift: '', order: '1042' });
    const other = await patch(created.body.id, { metadata: { note: 'x' } });
    expect(other.body.metadata).toEqual({ gift: '', order: '1042', note: 'x' });
    const removed = await patch(created.body.id, { metadata: { gift: '' } });
    expect(removed.body.metadata).toEqual({ order: '1042', note: 'x' });
  });

  it('the same key with a different body or another payment is 422', async () => {
    const a = await create();
    const b = await create();
    const key = randomUUID();
    await patch(a.body.id, { description: 'one' }, key);
    const otherBody = await patch(a.body.id, { description: 'two' }, key);
    expect(otherBody.status).toBe(422);
    expect(otherBody.body.errors).toEqual([expect.objectContaining({ field: 'description' })]);
    const otherPayment = await patch(b.body.id, { description: 'one' }, key);
    expect(otherPayment.status).toBe(422);
    expect(otherPayment.body.errors).toEqual([expect.objectContaining({ field: 'path' })]);
    expect((await get(`/v1/payments/${b.body.id}`)).body.description).toBeNull();
  });

  it('a key is shared across routes: a create key reused on a PATCH is 422', async () => {
    const key = randomUUID();
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    const res = await patch(created.body.id, { description: 'x' }, key);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('idempotency-key-reused');
  });

  it('an empty update is 400 and stores nothing', async () => {
    const created = await create();
    const key = randomUUID();
    const res = await patch(created.body.id, {}, key);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
    expect(await stack.db.query('SELECT id FROM idempotency_keys WHERE key = $1', [key])).toHaveLength(0);
  });

  it('metadata that would exceed 20 keys after the merge is 400', async () => {
    const created = await create({ ...visa, metadata: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`a${i}`, 'v'])) });
    const res = await patch(created.body.id, { metadata: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`b${i}`, 'v'])) });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'metadata' })]);
    expect(Object.keys((await get(`/v1/payments/${created.body.id}`)).body.metadata)).toHaveLength(15);
  });

  it('a PATCH never calls the provider', async () => {
    const created = await create();
    await patch(created.body.id, { description: 'no charge' });
    expect(totalCharges(stack)).toBe(1);
  });
});
