import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { loadConfig } from '../../src/config/app-config.js';
import { call, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';

let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

describe('/v2 beside /v1', () => {
  it('reads a payment made through v1 in the v2 shape (checked against openapi/v2.yaml)', async () => {
    const key = randomUUID();
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', { ...visa, currency: 'JPY', amount: 700 }, { key: merchant.test_key, idempotencyKey: key });
    const v2 = await call(stack.baseUrl, 'GET', `/v2/payments/${created.body.id}`, undefined, { key: merchant.test_key });
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ id: created.body.id, amount: { minor_units: 700, currency: 'jpy', exponent: 0 }, idempotency_key: key, status: 'succeeded' });
    expect(v2.body).not.toHaveProperty('currency');
    expect(v2.body).not.toHaveProperty('operation_id');
  });

  it('shares the core rules: auth, and 404 for another merchant\'s payment', async () => {
    const other = await createMerchant(stack, 'Other');
    const theirs = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: other.test_key, idempotencyKey: randomUUID() });
    expect((await call(stack.baseUrl, 'GET', `/v2/payments/${theirs.body.id}`, undefined, { key: merchant.test_key })).body.code).toBe('resource-not-found');
    expect((await call(stack.baseUrl, 'GET', `/v2/payments/${theirs.body.id}`, undefined, {})).status).toBe(401);
  });
});

describe('v1 deprecation headers', () => {
  it('are absent while v1 is not deprecated', async () => {
    const res = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key });
    expect(res.headers.get('deprecation')).toBeNull();
    expect(res.headers.get('sunset')).toBeNull();
  });

  it('are on every v1 answer once configured, never on v2', async () => {
    const deprecated = await startStack({ v1DeprecatedAt: new Date('2027-01-01T00:00:00Z'), v1SunsetAt: new Date('2027-07-01T00:00:00Z') });
    try {
      const owner = await createMerchant(deprecated, 'Deprecated');
      const key = randomUUID();
      const answers = [
        await call(deprecated.baseUrl, 'POST', '/v1/payments', visa, { key: owner.test_key, idempotencyKey: key }),
        await call(deprecated.baseUrl, 'POST', '/v1/payments', visa, { key: owner.test_key, idempotencyKey: key }),
        await call(deprecated.baseUrl, 'GET', '/v1/payments/pay_missing', undefined, { key: owner.test_key }),
      ];
      expect(answers.map((a) => a.status)).toEqual([201, 201, 404]);
      for (const res of answers) {
        expect(res.headers.get('deprecation')).toBe(`@${Date.UTC(2027, 0, 1) / 1000}`);
        expect(res.headers.get('sunset')).toBe('Thu, 01 Jul 2027 00:00:00 GMT');
        expect(res.headers.get('link')).toContain('rel="deprecation"');
      }
      const v2 = await call(deprecated.baseUrl, 'GET', `/v2/payments/${answers[0].body.id}`, undefined, { key: owner.test_key });
      expect(v2.headers.get('deprecation')).toBeNull();
    } finally {
      await deprecated.close();
    }
  });

  it('refuse a sunset without a deprecation, or before it', () => {
    expect(() => loadConfig({ API_V1_SUNSET_AT: '2027-07-01' })).toThrow(/needs API_V1_DEPRECATED_AT/);
    expect(() => loadConfig({ API_V1_DEPRECATED_AT: '2027-07-01', API_V1_SUNSET_AT: '2027-01-01' })).toThrow(/must not be before/);
    expect(() => loadConfig({ API_V1_DEPRECATED_AT: 'next year' })).toThrow(/ISO 8601/);
  });
});

describe('the published contract and its reference page', () => {
  const get = (path: string) => call(stack.baseUrl, 'GET', path, undefined, { spec: false });

  it('serves each spec without an API key, byte for byte', async () => {
    for (const name of ['v1', 'v2']) {
      const res = await get(`/openapi/${name}.yaml`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/yaml/);
      expect(res.text).toBe(readFileSync(`openapi/${name}.yaml`, 'utf8'));
    }
  });

  it('serves an interactive reference at /docs with its assets from the package, no CDN', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await get('/docs/init.js')).text).toContain('/openapi/v1.yaml');
    const scripts = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.every((src) => src.startsWith('/docs/'))).toBe(true);
    for (const src of scripts) expect((await get(src)).status).toBe(200);
    expect((await get('/docs/swagger-ui-bundle.js')).text).toContain('SwaggerUIBundle');
  });

  it('answers 404 problem+json for anything else under those paths', async () => {
    for (const path of ['/openapi/v3.yaml', '/openapi/v1.json', '/docs/package.json', '/docs/..%2F..%2Fpackage.json']) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });
});
