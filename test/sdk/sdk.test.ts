import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Idempay, IdempayConnectionError, IdempayError, type IdempayOptions } from '../../sdk/src/index.js';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { freePort } from '../support/free-port.js';
import { call, chargesFor, createMerchant, resetStack, sleep, type Stack, startStack, totalCharges } from '../support/harness.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// Below the sandbox latency of the 202 test, above the one of the 409 test.
const PROVIDER_TIMEOUT_MS = 1000;
const visa = { amount: 5000, currency: 'eur', payment_method: 'pm_card_visa' };

let stack: Stack;
let proxy: FaultProxy;
let merchant: CreatedMerchant;

/** Through the proxy, with retry delays small enough for a quick suite and a cap above the API's `Retry-After: 1`. */
const sdk = (options: Partial<IdempayOptions> = {}) =>
  new Idempay({ apiKey: merchant.test_key, baseUrl: proxy.url, retryBaseDelayMs: 10, retryMaxDelayMs: 2000, ...options });

const keysSent = () => proxy.log.map((entry) => entry.headers['idempotency-key']);

async function paymentIdsFor(operationId: string): Promise<string[]> {
  const rows: { id: string }[] = await stack.db.query('SELECT id FROM payments WHERE operation_id = $1', [operationId]);
  return rows.map((row) => row.id);
}

async function rejection<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => new Error('expected the call to fail'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

beforeAll(async () => {
  stack = await startStack({ providerTimeoutMs: PROVIDER_TIMEOUT_MS });
  proxy = await startFaultProxy(stack.baseUrl);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.close();
});
beforeEach(async () => {
  await proxy.reset();
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

describe('a retry after a lost answer charges once', () => {
  it('503 after the API charged: retried with the same key, answered by the replayed 201, one charge and one row', async () => {
    proxy.script({ kind: 'forward-then-503', retryAfter: 1 });

    const payment = await sdk().payments.create({ ...visa, metadata: { order_id: '1042' } });

    expect(proxy.log.map((entry) => entry.fault)).toEqual(['forward-then-503', 'forward']);
    const [key, retryKey] = keysSent();
    expect(key).toMatch(UUID_V4);
    expect(retryKey).toBe(key);
    expect(proxy.log[0].upstream?.status).toBe(201);
    expect(payment.id).toBe(JSON.parse(proxy.log[0].upstream?.body ?? '{}').id);
    expect(payment).toMatchObject({ status: 'succeeded', amount: 5000, operation_id: key, metadata: { order_id: '1042' } });
    expect(payment.lastResponse).toMatchObject({ status: 201, replayed: true, attempts: 2, idempotencyKey: key });
    expect(chargesFor(stack, payment.id)).toBe(1);
    expect(totalCharges(stack)).toBe(1);
    expect(await paymentIdsFor(key as string)).toEqual([payment.id]);
  });

  it('connection cut after the API charged: retried with the same key, one charge', async () => {
    proxy.script({ kind: 'forward-then-destroy' });

    const payment = await sdk().payments.create(visa);

    expect(proxy.forwarded()).toBe(2);
    expect(new Set(keysSent()).size).toBe(1);
    expect(payment.lastResponse).toMatchObject({ status: 201, replayed: true, attempts: 2 });
    expect(chargesFor(stack, payment.id)).toBe(1);
    expect(await paymentIdsFor(payment.operation_id)).toEqual([payment.id]);
  });

  it('an attempt past timeoutMs is abandoned and retried with the same key; the late original charges nothing more', async () => {
    proxy.script({ kind: 'hold', ms: 1000 });

    const payment = await sdk({ timeoutMs: 200 }).payments.create(visa);
    await proxy.idle();

    expect(payment.lastResponse.attempts).toBe(2);
    expect(new Set(keysSent()).size).toBe(1);
    // The held request reached the API after the retry had finished: it got the stored answer.
    expect(proxy.log[0].upstream?.headers['idempotent-replayed']).toBe('true');
    expect(chargesFor(stack, payment.id)).toBe(1);
    expect(totalCharges(stack)).toBe(1);
  });
});

describe('answers worth a retry', () => {
  it('409 idempotency-key-in-use while the first request runs: waits Retry-After, then gets its replay', async () => {
    stack.sandbox.latencyMs = 500;
    const key = randomUUID();
    const first = call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
    await until(async () => (await stack.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).length === 1, 'the first request to claim the key');

    const started = Date.now();
    const payment = await sdk().payments.create(visa, { idempotencyKey: key });

    expect(proxy.log.map((entry) => entry.upstream?.status)).toEqual([409, 201]);
    expect(JSON.parse(proxy.log[0].upstream?.body ?? '{}').code).toBe('idempotency-key-in-use');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(payment.lastResponse).toMatchObject({ replayed: true, attempts: 2, idempotencyKey: key });
    expect((await first).body.id).toBe(payment.id);
    expect(chargesFor(stack, payment.id)).toBe(1);
  });

  it('429: waits at least Retry-After before the retry', async () => {
    proxy.script({ kind: 'respond', status: 429, code: 'rate-limited', retryAfter: 1 });

    const started = Date.now();
    const payment = await sdk().payments.create(visa);

    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.forwarded()).toBe(1);
    expect(new Set(keysSent()).size).toBe(1);
    expect(payment.lastResponse).toMatchObject({ status: 201, replayed: false, attempts: 2 });
    expect(totalCharges(stack)).toBe(1);
  });

  it.each([500, 502, 503])('%i without Retry-After: retried after a jittered backoff', async (status) => {
    proxy.script({ kind: 'respond', status });

    const payment = await sdk().payments.create(visa);

    expect(proxy.log.map((entry) => entry.fault)).toEqual(['respond', 'forward']);
    expect(payment.lastResponse.attempts).toBe(2);
    expect(chargesFor(stack, payment.id)).toBe(1);
  });

  it('GETs are retried too, and never carry an Idempotency-Key', async () => {
    const created = await sdk().payments.create(visa);
    proxy.script({ kind: 'destroy' }, { kind: 'respond', status: 503 });

    const payment = await sdk().payments.retrieve(created.id);

    expect(payment).toEqual(created);
    expect(payment.lastResponse).toMatchObject({ status: 200, attempts: 3, idempotencyKey: null, replayed: false });
    expect(proxy.log.slice(1).map((entry) => [entry.method, entry.headers['idempotency-key']])).toEqual([
      ['GET', undefined],
      ['GET', undefined],
      ['GET', undefined],
    ]);
  });
});

describe('answers never retried', () => {
  it('400 validation-failed: one request, a problem naming the field and the trace id', async () => {
    const error = await rejection(sdk().payments.create({ ...visa, amount: 0 }), IdempayError);

    expect(proxy.log).toHaveLength(1);
    const upstream = proxy.log[0].upstream;
    expect(error).toMatchObject({ status: 400, code: 'validation-failed', attempts: 1, idempotencyKey: proxy.log[0].headers['idempotency-key'] });
    expect(error.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(error.traceId).toBe(upstream?.headers['trace-id']);
    expect(error.problem).toEqual(JSON.parse(upstream?.body ?? '{}'));
    expect(error.problem?.errors?.map((e) => e.field)).toContain('amount');
    expect(error.message).toBe(`${error.problem?.title}: ${error.problem?.detail}`);
    expect(totalCharges(stack)).toBe(0);
  });

  it('401 api-key-invalid', async () => {
    const error = await rejection(sdk({ apiKey: 'sk_test_not_a_real_key' }).payments.create(visa), IdempayError);

    expect(error).toMatchObject({ status: 401, code: 'api-key-invalid', attempts: 1 });
    expect(proxy.log).toHaveLength(1);
  });

  it('404 resource-not-found', async () => {
    const error = await rejection(sdk().payments.retrieve('pay_0000000000000000000000000X'), IdempayError);

    expect(error).toMatchObject({ status: 404, code: 'resource-not-found', attempts: 1, idempotencyKey: null });
    expect(error.traceId).toBe(proxy.log[0].upstream?.headers['trace-id']);
    expect(proxy.log).toHaveLength(1);
  });

  it('422 idempotency-key-reused: the same key with another body, one request, nothing charged again', async () => {
    const key = randomUUID();
    const first = await sdk().payments.create(visa, { idempotencyKey: key });

    const error = await rejection(sdk().payments.create({ ...visa, amount: 9900 }, { idempotencyKey: key }), IdempayError);

    expect(error).toMatchObject({ status: 422, code: 'idempotency-key-reused', idempotencyKey: key, attempts: 1 });
    expect(error.problem?.errors?.map((e) => e.field)).toEqual(['amount']);
    expect(proxy.log).toHaveLength(2);
    expect(chargesFor(stack, first.id)).toBe(1);
    expect(totalCharges(stack)).toBe(1);
  });

  it.each([
    [409, 'some-other-conflict'],
    [413, 'body-too-large'],
    [415, 'unsupported-media-type'],
  ])('%i %s', async (status, code) => {
    proxy.script({ kind: 'respond', status, code, retryAfter: 0 });

    const error = await rejection(sdk().payments.create(visa), IdempayError);

    expect(error).toMatchObject({ status, code, attempts: 1 });
    expect(proxy.log).toHaveLength(1);
  });

  it('202 processing is a success, not an error nor a reason to retry', async () => {
    stack.sandbox.latencyMs = PROVIDER_TIMEOUT_MS + 300;

    const payment = await sdk().payments.create(visa);

    expect(payment.status).toBe('processing');
    expect(payment.lastResponse).toMatchObject({ status: 202, attempts: 1 });
    expect(proxy.log).toHaveLength(1);
    // The abandoned charge still lands in the sandbox; let it, so it cannot count in the next test.
    await until(() => chargesFor(stack, payment.id) === 1, 'the sandbox to finish the charge');
  });
});

describe('giving up', () => {
  it('after maxRetries: the last answer as an IdempayError, every attempt with the same key', async () => {
    proxy.always({ kind: 'respond', status: 503, code: 'service-unavailable' });

    const error = await rejection(sdk({ maxRetries: 3 }).payments.create(visa), IdempayError);

    expect(error).toMatchObject({ status: 503, code: 'service-unavailable', attempts: 4 });
    expect(proxy.log).toHaveLength(4);
    expect(new Set(keysSent())).toEqual(new Set([error.idempotencyKey]));
    expect(proxy.forwarded()).toBe(0);
  });

  it('at once when Retry-After asks for more than retryMaxDelayMs', async () => {
    proxy.always({ kind: 'respond', status: 503, code: 'service-unavailable', retryAfter: 5 });

    const error = await rejection(sdk({ retryMaxDelayMs: 1000 }).payments.create(visa), IdempayError);

    expect(error).toMatchObject({ status: 503, attempts: 1 });
    expect(proxy.log).toHaveLength(1);
  });

  it('an answer that is not a problem (a gateway page) still gives a status and a message', async () => {
    proxy.always({ kind: 'respond', status: 502, html: '<html>Bad gateway</html>' });

    const error = await rejection(sdk({ maxRetries: 1 }).payments.create(visa), IdempayError);

    expect(error).toMatchObject({ status: 502, code: null, problem: null, traceId: null, attempts: 2 });
    expect(error.message).toBe('POST /v1/payments answered HTTP 502');
  });

  it('connections cut every time: IdempayConnectionError after maxRetries, with the key to call again with', async () => {
    proxy.always({ kind: 'destroy' });

    const error = await rejection(sdk().payments.create(visa), IdempayConnectionError);

    expect(error.attempts).toBe(3);
    expect(proxy.log).toHaveLength(3);
    expect(error.idempotencyKey).toMatch(UUID_V4);
    expect(new Set(keysSent())).toEqual(new Set([error.idempotencyKey]));
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.message).toMatch(/^POST \/v1\/payments failed after 3 attempts: /);
  });

  it('connection refused: IdempayConnectionError naming the cause', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;

    const error = await rejection(sdk({ baseUrl: closed, maxRetries: 1 }).payments.list(), IdempayConnectionError);

    expect(error.attempts).toBe(2);
    expect(error.idempotencyKey).toBeNull();
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('timeouts every time: IdempayConnectionError saying so', async () => {
    proxy.always({ kind: 'hold', ms: 300 });

    const error = await rejection(sdk({ timeoutMs: 100, maxRetries: 1 }).payments.list(), IdempayConnectionError);
    await proxy.idle();

    expect(error.attempts).toBe(2);
    expect(error.message).toContain('no answer within 100 ms');
  });
});

describe('backoff in the client', () => {
  it('waits the jittered delay drawn from the injected random source', async () => {
    proxy.script({ kind: 'respond', status: 500 });

    const started = Date.now();
    await sdk({ retryBaseDelayMs: 300, random: () => 0.999 }).payments.create(visa);

    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  // A client ignoring the random source would sleep up to a minute: the short timeout makes that fail fast.
  it('with the random source at 0, retries at once however large the base delay', async () => {
    proxy.script({ kind: 'respond', status: 500 }, { kind: 'respond', status: 500 });

    const started = Date.now();
    const payment = await sdk({ retryBaseDelayMs: 60_000, retryMaxDelayMs: 60_000, random: () => 0 }).payments.create(visa);

    expect(payment.lastResponse.attempts).toBe(3);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 5000);
});

describe('idempotency keys and resources', () => {
  it('without an idempotencyKey: a fresh UUID v4 per call, which becomes the payment operation_id', async () => {
    const client = sdk();
    const first = await client.payments.create(visa);
    const second = await client.payments.create(visa);

    const [firstKey, secondKey] = keysSent();
    expect(firstKey).toMatch(UUID_V4);
    expect(secondKey).toMatch(UUID_V4);
    expect(secondKey).not.toBe(firstKey);
    expect(first.operation_id).toBe(firstKey);
    expect(first.lastResponse.idempotencyKey).toBe(firstKey);
    expect(second.operation_id).toBe(secondKey);
    expect(second.id).not.toBe(first.id);
    expect(totalCharges(stack)).toBe(2);
  });

  it('sends the caller key as is, and a repeat with it replays instead of charging', async () => {
    const first = await sdk().payments.create(visa, { idempotencyKey: 'order-1042' });
    const again = await sdk().payments.create(visa, { idempotencyKey: 'order-1042' });

    expect(keysSent()).toEqual(['order-1042', 'order-1042']);
    expect(first.operation_id).toBe('order-1042');
    expect(again).toEqual(first);
    expect([first.lastResponse.replayed, again.lastResponse.replayed]).toEqual([false, true]);
    expect(totalCharges(stack)).toBe(1);
  });

  it('retrieve, list and update against the real API; lastResponse stays out of JSON and equality', async () => {
    const client = sdk();
    const created = [];
    for (const order of ['1', '2', '3']) created.push(await client.payments.create({ ...visa, metadata: { order } }));

    const page1 = await client.payments.list({ limit: 2 });
    expect(page1.data.map((p) => p.id)).toEqual([created[2].id, created[1].id]);
    expect(page1.has_more).toBe(true);
    expect(page1.lastResponse).toMatchObject({ status: 200, idempotencyKey: null });
    const page2 = await client.payments.list({ limit: 2, starting_after: page1.data[1].id });
    expect(page2.data.map((p) => p.id)).toEqual([created[0].id]);
    expect(page2.has_more).toBe(false);
    expect(proxy.log.at(-1)?.path).toBe(`/v1/payments?limit=2&starting_after=${page1.data[1].id}`);

    const retrieved = await client.payments.retrieve(created[0].id);
    expect(retrieved).toEqual(created[0]);
    expect(Object.keys(retrieved)).not.toContain('lastResponse');
    expect(JSON.parse(JSON.stringify(retrieved))).toEqual(JSON.parse(proxy.log.at(-1)?.upstream?.body ?? '{}'));
    expect(retrieved.lastResponse.traceId).toBe(proxy.log.at(-1)?.upstream?.headers['trace-id']);

    const updated = await client.payments.update(created[0].id, { description: 'gift', metadata: { order: '', note: 'wrap it' } }, { idempotencyKey: 'update-1' });
    expect(updated).toMatchObject({ id: created[0].id, description: 'gift', metadata: { note: 'wrap it' } });
    expect(updated.lastResponse).toMatchObject({ status: 200, replayed: false, idempotencyKey: 'update-1' });
    const rows: { description: string; metadata: Record<string, string> }[] = await stack.db.query('SELECT description, metadata FROM payments WHERE id = $1', [created[0].id]);
    expect(rows[0]).toEqual({ description: 'gift', metadata: { note: 'wrap it' } });

    const replayed = await client.payments.update(created[0].id, { description: 'gift', metadata: { order: '', note: 'wrap it' } }, { idempotencyKey: 'update-1' });
    expect(replayed).toEqual(updated);
    expect(replayed.lastResponse.replayed).toBe(true);
    expect(proxy.log.filter((entry) => entry.method === 'GET').every((entry) => entry.headers['idempotency-key'] === undefined)).toBe(true);
    expect(totalCharges(stack)).toBe(3);
  });

  it('an update without an idempotencyKey gets a fresh UUID v4', async () => {
    const payment = await sdk().payments.create(visa);

    const updated = await sdk().payments.update(payment.id, { description: 'late note' });

    expect(updated.lastResponse.idempotencyKey).toMatch(UUID_V4);
    expect(proxy.log[1].headers['idempotency-key']).toBe(updated.lastResponse.idempotencyKey);
    expect(updated.lastResponse.idempotencyKey).not.toBe(payment.operation_id);
  });
});
