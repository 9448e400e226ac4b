import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { call, createMerchant, resetStack, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

let stack: Stack;
let merchant: CreatedMerchant;
const post = (body: unknown, options: { raw?: string; headers?: Record<string, string>; idempotencyKey?: string } = {}) =>
  call(stack.baseUrl, 'POST', '/v1/payments', body, { key: merchant.test_key, idempotencyKey: randomUUID(), ...options });

beforeAll(async () => {
  stack = await startStack({ bodyLimitBytes: 4096 });
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

async function nothingStored(): Promise<void> {
  expect(await stack.db.query('SELECT id FROM idempotency_keys')).toHaveLength(0);
  expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(0);
  expect(totalCharges(stack)).toBe(0);
}

function expectProblem(res: { status: number; headers: Headers; body: Record<string, unknown> }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: `urn:idempay:problem:${code}`, status, code, trace_id: res.headers.get('trace-id') });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
}

describe('bad input gets problem+json and stores nothing', () => {
  it('unknown body field → 400 naming it (never silently stripped)', async () => {
    const res = await post({ ...visa, amout: 5 });
    expectProblem(res, 400, 'validation-failed');
    expect(res.body.errors).toEqual([{ field: 'amout', message: 'amout is not a known field' }]);
    await nothingStored();
  });

  it.each([
    ['amount as a string', { ...visa, amount: '5000' }, 'amount'],
    ['a fractional amount', { ...visa, amount: 10.5 }, 'amount'],
    ['a zero amount', { ...visa, amount: 0 }, 'amount'],
    ['an amount over the maximum', { ...visa, amount: 100_000_000 }, 'amount'],
    ['an unsupported currency', { ...visa, currency: 'xyz' }, 'currency'],
    ['a payment_method that is no token', { ...visa, payment_method: '4242 4242 4242 4242' }, 'payment_method'],
    ['a missing currency', { amount: 100, payment_method: 'pm_card_visa' }, 'currency'],
    ['21 metadata keys', { ...visa, metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
    ['a 41-character metadata key', { ...visa, metadata: { ['k'.repeat(41)]: 'v' } }, 'metadata'],
    ['a 501-character metadata value', { ...visa, metadata: { k: 'v'.repeat(501) } }, 'metadata'],
    ['a non-string metadata value', { ...visa, metadata: { k: 5 } }, 'metadata'],
    ['a description over 1000 characters', { ...visa, description: 'd'.repeat(1001) }, 'description'],
    ['a NUL character in a description (Postgres cannot store it)', { ...visa, description: 'a\u0000b' }, 'description'],
    ['a NUL character in a metadata key', { ...visa, metadata: { 'k\u0000': 'v' } }, 'metadata.k\u0000'],
  ])('%s → 400 naming the field', async (_label, body, field) => {
    const res = await post(body);
    expectProblem(res, 400, 'validation-failed');
    expect((res.body.errors as { field: string }[]).map((e) => e.field)).toEqual([field]);
    await nothingStored();
  });

  it('a JSON array body → 400', async () => {
    expectProblem(await post([visa]), 400, 'validation-failed');
    await nothingStored();
  });

  it('malformed JSON → 400 malformed-json', async () => {
    expectProblem(await post(undefined, { raw: '{"amount": 5000,' }), 400, 'malformed-json');
    await nothingStored();
  });

  it('an empty JSON body → 400 malformed-json', async () => {
    expectProblem(await post(undefined, { raw: '' }), 400, 'malformed-json');
    await nothingStored();
  });

  it('an oversized body → 413 body-too-large', async () => {
    const res = await post({ ...visa, description: 'x'.repeat(5000) });
    expectProblem(res, 413, 'body-too-large');
    await nothingStored();
  });

  it('a body that is not JSON → 415 unsupported-media-type', async () => {
    expectProblem(await post(undefined, { raw: 'amount=5000', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported-media-type');
    expectProblem(
      await post(undefined, { raw: 'amount=5000', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415,
      'unsupported-media-type',
    );
    await nothingStored();
  });

  it('a request Node cannot parse (a control byte in a header) → 400 problem+json', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const url = new URL(stack.baseUrl);
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST /v1/payments HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\x01b\r\nContent-Length: 0\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('application/problem+json');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'validation-failed' });
    await nothingStored();
  });
});

describe('authentication', () => {
  it.each([
    ['no Authorization header', undefined, 'api-key-missing'],
    ['an unknown test key', 'sk_test_unknown', 'api-key-invalid'],
    ['a key of the wrong kind', 'pk_test_abc', 'api-key-invalid'],
  ])('%s → 401', async (_label, key, code) => {
    const res = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key });
    expectProblem(res, 401, code);
  });

  it('a Basic or malformed Authorization header → 401', async () => {
    const res = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { headers: { authorization: `Basic ${merchant.test_key}` } });
    expectProblem(res, 401, 'api-key-invalid');
  });

  it('the Bearer scheme in any case, then spaces, is read; a tab in place of the spaces is malformed (RFC 9110 §11.4) → 401', async () => {
    for (const authorization of [`bearer ${merchant.test_key}`, `BEARER ${merchant.test_key}`, `Bearer   ${merchant.test_key}`]) {
      expect((await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { headers: { authorization } })).status).toBe(200);
    }
    const res = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { headers: { authorization: `Bearer\t${merchant.test_key}` } });
    expectProblem(res, 401, 'api-key-invalid');
  });
});

describe('not found', () => {
  it('another merchant\'s payment is 404, never 403', async () => {
    const other = await createMerchant(stack, 'Other');
    const theirs = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: other.test_key, idempotencyKey: randomUUID() });
    const res = await call(stack.baseUrl, 'GET', `/v1/payments/${theirs.body.id}`, undefined, { key: merchant.test_key });
    expectProblem(res, 404, 'resource-not-found');
    const patch = await call(stack.baseUrl, 'PATCH', `/v1/payments/${theirs.body.id}`, { description: 'mine now' }, {
      key: merchant.test_key,
      idempotencyKey: randomUUID(),
    });
    expectProblem(patch, 404, 'resource-not-found');
    const untouched = await call(stack.baseUrl, 'GET', `/v1/payments/${theirs.body.id}`, undefined, { key: other.test_key });
    expect(untouched.body.description).toBeNull();
  });

  it('a test-mode payment is 404 to the live key of the same merchant', async () => {
    const created = await post(visa);
    const res = await call(stack.baseUrl, 'GET', `/v1/payments/${created.body.id}`, undefined, { key: merchant.live_key });
    expectProblem(res, 404, 'resource-not-found');
  });

  it('an unknown route → 404 route-not-found', async () => {
    expectProblem(await call(stack.baseUrl, 'GET', '/v1/nothing-here', undefined, { key: merchant.test_key }), 404, 'route-not-found');
  });
});

describe('Trace-Id', () => {
  it('is on every response, and the problem body carries the same id', async () => {
    const answers = [
      await post(visa),
      await post({ ...visa, bogus: 1 }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, {}),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key }),
      await call(stack.baseUrl, 'GET', '/nowhere', undefined, {}),
    ];
    for (const res of answers) expect(res.headers.get('trace-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(answers.map((a) => a.headers.get('trace-id'))).size).toBe(answers.length);
    expect(answers[1].body.trace_id).toBe(answers[1].headers.get('trace-id'));
  });

  it('honours an incoming W3C traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await call(stack.baseUrl, 'GET', '/v1/payments/pay_missing', undefined, {
      key: merchant.test_key,
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.headers.get('trace-id')).toBe(traceId);
    expect(res.body.trace_id).toBe(traceId);
  });

  it('ignores a malformed traceparent and makes its own id', async () => {
    const res = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key, headers: { traceparent: 'garbage' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('trace-id')).toMatch(/^[0-9a-f]{32}$/);
  });
});
