import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { call, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';
import { PUBLIC_V4, stubHostResolver } from '../support/host-resolver-stub.js';
import { SpecValidator } from '../support/spec-validator.js';

let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await startStack();
  // The examples' hosts (example.com) resolve to a public address without asking DNS.
  stubHostResolver(stack, {}, [PUBLIC_V4]);
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

describe('the spec check every e2e answer goes through', () => {
  const validator = new SpecValidator('openapi/v1.yaml');

  async function realAnswer() {
    const res = await fetch(`${stack.baseUrl}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${merchant.test_key}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
      body: JSON.stringify(visa),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  it('passes a real answer and fails a broken one: extra field, missing header, undocumented status, wrong media type', async () => {
    const good = await realAnswer();
    expect(validator.check('POST', '/v1/payments', good.status, good.headers, good.text)).toEqual([]);

    const extra = JSON.stringify({ ...JSON.parse(good.text), surprise: 1 });
    expect(validator.check('POST', '/v1/payments', 201, good.headers, extra).join()).toMatch(/additional properties/);

    const noTrace = new Headers(good.headers);
    noTrace.delete('trace-id');
    expect(validator.check('POST', '/v1/payments', 201, noTrace, good.text).join()).toMatch(/Trace-Id missing/);

    expect(validator.check('POST', '/v1/payments', 418, good.headers, good.text).join()).toMatch(/status not documented/);

    const text = new Headers(good.headers);
    text.set('content-type', 'text/plain');
    expect(validator.check('POST', '/v1/payments', 201, text, good.text).join()).toMatch(/not documented/);

    const badStatusValue = JSON.stringify({ ...JSON.parse(good.text), status: 'refunded' });
    expect(validator.check('POST', '/v1/payments', 201, good.headers, badStatusValue).join()).toMatch(/allowed values/);
  });
});

describe('the examples in the spec, sent as requests', () => {
  type Json = Record<string, any>;
  const spec = parse(readFileSync('openapi/v1.yaml', 'utf8')) as Json;
  const examples = Object.entries(spec.paths as Json).flatMap(([template, item]) =>
    Object.entries(item as Json)
      .filter(([, op]) => (op as Json)?.requestBody?.content?.['application/json']?.example !== undefined)
      .map(([method, op]) => ({ template, method: method.toUpperCase(), op: op as Json })),
  );

  it('covers every operation that takes a body', () => {
    expect(examples.map((e) => `${e.method} ${e.template}`).sort()).toEqual([
      'PATCH /v1/payments/{id}',
      'PATCH /v1/webhook_endpoints/{id}',
      'POST /v1/payments',
      'POST /v1/payments/{id}/refunds',
      'POST /v1/webhook_endpoints',
    ]);
  });

  it.each(examples.map((e) => [`${e.method} ${e.template}`, e] as const))('%s with its example answers a documented 2xx', async (_name, example) => {
    const existing = example.template.startsWith('/v1/webhook_endpoints/')
      ? await call(stack.baseUrl, 'POST', '/v1/webhook_endpoints', { url: 'https://hooks.example.com/x', enabled_events: ['*'] }, { key: merchant.test_key, idempotencyKey: randomUUID() })
      : await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    const path = example.template.replace('{id}', existing.body.id);
    const res = await call(stack.baseUrl, example.method, path, example.op.requestBody.content['application/json'].example, {
      key: merchant.test_key,
      idempotencyKey: randomUUID(),
    });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
    expect(Object.keys(example.op.responses)).toContain(String(res.status));
  });
});
