import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { loadConfig } from '../../src/config/app-config.js';
import { type ApiResponse, call, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';

const corsHeaders = (res: Pick<ApiResponse, 'headers'>) => [...res.headers.keys()].filter((name) => name.startsWith('access-control-'));

/** A CSP as directive → sources. */
function directives(csp: string | null): Record<string, string[]> {
  return Object.fromEntries(
    (csp ?? '')
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name, sources]),
  );
}

describe('security headers (helmet), CORS off', () => {
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

  /** Only a rendered HTML page needs these; the API's JSON answers go without them. */
  const PAGE_ONLY = ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection'];

  function expectCommonHeaders(res: ApiResponse): void {
    expect({
      hsts: res.headers.get('strict-transport-security'),
      frame: res.headers.get('x-frame-options'),
      referrer: res.headers.get('referrer-policy'),
      resource: res.headers.get('cross-origin-resource-policy'),
      nosniff: res.headers.get('x-content-type-options'),
      cors: corsHeaders(res),
    }).toEqual({
      hsts: 'max-age=31536000; includeSubDomains',
      frame: 'DENY',
      referrer: 'no-referrer',
      resource: 'same-origin',
      nosniff: 'nosniff',
      cors: [],
    });
  }

  it("every API answer carries HSTS, no framing, no referrer, a CSP allowing nothing, nosniff and no-store, each once, and none of a page's headers; no CORS header", async () => {
    const key = merchant.test_key;
    const idempotencyKey = randomUUID();
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey, headers: { origin: 'https://shop.example.com' } });
    const answers = [
      created,
      await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key, headers: { origin: 'https://shop.example.com' } }),
      await call(stack.baseUrl, 'GET', `/v2/payments/${created.body.id}`, undefined, { key }),
      await call(stack.baseUrl, 'POST', '/v1/payments', { ...visa, amount: 'x' }, { key, idempotencyKey: randomUUID() }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, {}),
      await call(stack.baseUrl, 'GET', '/v1/payments/pay_missing', undefined, { key }),
      await call(stack.baseUrl, 'GET', '/v1/payments/pay%FF', undefined, { key }),
      await call(stack.baseUrl, 'GET', `/v1/payments/${'x'.repeat(120)}`, undefined, { key }),
      await call(stack.baseUrl, 'GET', '/v1/nowhere', undefined, {}),
      await call(stack.baseUrl, 'GET', `/v1/payments?api_key=${key}`, undefined, {}),
    ];
    expect(answers.map((res) => res.status)).toEqual([201, 201, 200, 200, 400, 401, 404, 400, 404, 404, 400]);
    for (const res of answers) {
      expectCommonHeaders(res);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      expect(PAGE_ONLY.filter((name) => res.headers.has(name))).toEqual([]);
    }
  });

  it("everything else (a 404, health, the spec's file) carries a page's headers too, and a CSP loading from this origin only, never inline", async () => {
    const answers = [
      await call(stack.baseUrl, 'GET', '/nowhere', undefined, {}),
      await call(stack.baseUrl, 'GET', '/health/live', undefined, { spec: false }),
      await call(stack.baseUrl, 'GET', '/openapi/v1.yaml', undefined, { spec: false }),
    ];
    expect(answers.map((res) => res.status)).toEqual([404, 200, 200]);
    for (const res of answers) {
      expectCommonHeaders(res);
      expect({ opener: res.headers.get('cross-origin-opener-policy'), xss: res.headers.get('x-xss-protection') }).toEqual({ opener: 'same-origin', xss: '0' });
      const csp = directives(res.headers.get('content-security-policy'));
      expect(csp).toMatchObject({ 'default-src': ["'self'"], 'script-src': ["'self'"], 'style-src': ["'self'"], 'frame-ancestors': ["'none'"], 'object-src': ["'none'"] });
      expect(csp['upgrade-insecure-requests']).toBeUndefined();
    }
  });

  it('a preflight without CORS_ORIGINS is the route-not-found 404, without a CORS header', async () => {
    const res = await fetch(`${stack.baseUrl}/v1/payments`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'route-not-found' });
    expect(corsHeaders(res)).toEqual([]);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });

  it('the /docs page keeps its own CSP, and that CSP allows every script the page loads: same-origin files, none inline', async () => {
    const page = await call(stack.baseUrl, 'GET', '/docs', undefined, { spec: false });
    expect(page.status).toBe(200);
    expect(page.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    const csp = directives(page.headers.get('content-security-policy'));
    expect(csp['default-src']).toEqual(["'none'"]);
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, inline] of scripts) {
      expect(inline.trim()).toBe('');
      const src = /src="([^"]+)"/.exec(attributes)?.[1] ?? '';
      // 'self' in script-src allows a same-origin path, and nothing else is needed.
      expect(src).toMatch(/^\/[^/]/);
      expect(csp['script-src']).toContain("'self'");
      const file = await call(stack.baseUrl, 'GET', src, undefined, { spec: false });
      expect([src, file.status]).toEqual([src, 200]);
    }
    for (const [, href] of page.text.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)) {
      expect(href).toMatch(/^\/[^/]/);
      expect(csp['style-src']).toContain("'self'");
    }
  });
});

describe('HSTS_MAX_AGE_SECONDS=0', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ hstsMaxAgeSeconds: loadConfig({ HSTS_MAX_AGE_SECONDS: '0' }).hstsMaxAgeSeconds });
  });
  afterAll(() => stack.close());

  it('sends no Strict-Transport-Security; the other headers stay', async () => {
    await resetStack(stack);
    const merchant = await createMerchant(stack);
    const res = await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: merchant.test_key });
    expect(res.status).toBe(200);
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});

describe('CORS from CORS_ORIGINS', () => {
  const allowed = 'https://shop.example.com';
  let stack: Stack;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    const config = loadConfig({ CORS_ORIGINS: `${allowed}, http://localhost:5173` });
    stack = await startStack({ corsOrigins: config.corsOrigins, rateLimitWrites: 2, rateLimitWindowMs: 60_000 });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await resetStack(stack);
    merchant = await createMerchant(stack);
  });

  it('an allowed origin gets its own origin back and the headers it may read, on answers, errors and 429s alike', async () => {
    const key = merchant.test_key;
    const headers = { origin: allowed };
    const answers = [
      await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey: randomUUID(), headers }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key, headers }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { headers }),
      await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey: randomUUID(), headers }),
      await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey: randomUUID(), headers }),
    ];
    expect(answers.map((res) => res.status)).toEqual([201, 200, 401, 201, 429]);
    for (const res of answers) {
      expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
      const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',').map((name) => name.trim());
      expect(exposed).toEqual(expect.arrayContaining(['Trace-Id', 'Idempotent-Replayed', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Location']));
    }
  });

  it('a preflight from an allowed origin allows the methods and the request headers merchants send, and quotes its trace id', async () => {
    // A preflight is answered for any path by the CORS layer; it is not an operation of the spec.
    const res = await fetch(`${stack.baseUrl}/v1/payments/pay_123`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization,content-type,idempotency-key,traceparent' },
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const list = (name: string) => (res.headers.get(name) ?? '').split(',').map((item) => item.trim().toLowerCase());
    expect(list('access-control-allow-methods')).toEqual(expect.arrayContaining(['get', 'head', 'post', 'patch', 'delete']));
    expect(list('access-control-allow-headers')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'traceparent']));
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers.get('trace-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('ratelimit-policy')).toBeNull();
  });

  it('another origin, or none, gets no CORS header at all, and its preflight is the route-not-found 404', async () => {
    const key = merchant.test_key;
    const answers = [
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key, headers: { origin: 'https://evil.example.com' } }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key, headers: { origin: `${allowed}.evil.example.com` } }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
    }
    const preflight = await fetch(`${stack.baseUrl}/v1/payments`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(404);
    expect(await preflight.json()).toMatchObject({ code: 'route-not-found' });
    expect(corsHeaders(preflight)).toEqual([]);
  });

  it('CORS_ORIGINS takes exact origins only: not *, not a URL with a path', () => {
    expect(loadConfig({ CORS_ORIGINS: '' }).corsOrigins).toEqual([]);
    for (const bad of ['*', 'https://shop.example.com/', 'https://shop.example.com/checkout', 'shop.example.com', 'ftp://shop.example.com']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });
});
