import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { loadConfig } from '../../src/config/app-config.js';
import { type ChildServer, startChildServer } from '../support/child-server.js';
import { type ApiResponse, call, createMerchant, resetStack, sleep, type Stack, startStack, totalCharges, visa } from '../support/harness.js';
import { SpecValidator } from '../support/spec-validator.js';

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

const v1 = new SpecValidator('openapi/v1.yaml');

async function nothingStored(): Promise<void> {
  expect(await stack.db.query('SELECT id FROM idempotency_keys')).toHaveLength(0);
  expect(await stack.db.query('SELECT id FROM payments')).toHaveLength(0);
  expect(totalCharges(stack)).toBe(0);
}

function expectProblem(res: Pick<ApiResponse, 'status' | 'headers' | 'body'>, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: `urn:idempay:problem:${code}`, status, code });
  expect(res.headers.get('trace-id')).toMatch(/^[0-9a-f]{32}$/);
  expect(res.body.trace_id).toBe(res.headers.get('trace-id'));
}

/** A request fetch cannot make (a header sent twice), checked against the spec like `call` does. */
async function sendRepeated(method: string, path: string, headers: string[], body?: unknown): Promise<ApiResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const typed = headers.some((name, i) => i % 2 === 0 && name.toLowerCase() === 'content-type');
  const res = await request(`${stack.baseUrl}${path}`, {
    method: method as 'GET',
    headers: payload === undefined || typed ? headers : [...headers, 'content-type', 'application/json'],
    body: payload,
  });
  const text = await res.body.text();
  const answer = { status: res.statusCode, headers: toHeaders(res.headers), text, body: JSON.parse(text) };
  expect(v1.check(method, path, answer.status, answer.headers, text)).toEqual([]);
  return answer;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) for (const one of [value ?? []].flat()) headers.append(name, one);
  return headers;
}

interface RawExchange {
  /** Everything the server sent. */
  raw: string;
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** From the first byte sent to the server closing the connection (undefined: it never closed). */
  closedAfterMs: number | undefined;
}

/**
 * Sends `head` at once, then `trickle` one character every `everyMs`, and reads until the server
 * closes the connection or `giveUpMs` passes.
 */
function exchange(baseUrl: string, head: string, trickle = '', everyMs = 300, giveUpMs = 10_000): Promise<RawExchange> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const started = Date.now();
    let data = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]);
      }, everyMs);
    });
    const finish = (closed: boolean) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ raw: data, ...parseAnswer(data), closedAfterMs: closed ? Date.now() - started : undefined });
    };
    const giveUp = setTimeout(() => finish(false), giveUpMs);
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('close', () => finish(true));
    // A reset after the answer was read still counts as closing: the answer is what is asserted.
    socket.on('error', () => {});
  });
}

/** The first answer in what the server sent. */
function parseAnswer(raw: string): Omit<RawExchange, 'raw' | 'closedAfterMs'> {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers = new Headers();
  for (const line of lines) headers.append(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
  const text = end < 0 ? '' : raw.slice(end + 4);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, text, body };
}

describe('a header sent twice', () => {
  it('two Idempotency-Key headers (equal or not) → 400 idempotency-key-invalid, nothing stored or charged', async () => {
    for (const [first, second] of [['k-1', 'k-1'], ['k-1', 'k-2']]) {
      const res = await sendRepeated(
        'POST',
        '/v1/payments',
        ['authorization', `Bearer ${merchant.test_key}`, 'idempotency-key', first, 'idempotency-key', second],
        visa,
      );
      expectProblem(res, 400, 'idempotency-key-invalid');
      expect(res.body.detail).toMatch(/exactly one Idempotency-Key/);
    }
    await nothingStored();
  });

  it('two Idempotency-Key headers on a PATCH or a refund → 400, the payment untouched', async () => {
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    const twice = ['authorization', `Bearer ${merchant.test_key}`, 'idempotency-key', 'a', 'Idempotency-Key', 'a'];
    expectProblem(await sendRepeated('PATCH', `/v1/payments/${created.body.id}`, twice, { description: 'x' }), 400, 'idempotency-key-invalid');
    expectProblem(await sendRepeated('POST', `/v1/payments/${created.body.id}/refunds`, twice, {}), 400, 'idempotency-key-invalid');
    expect(await stack.db.query('SELECT id FROM idempotency_keys')).toHaveLength(1);
    expect(await stack.db.query('SELECT id FROM refunds')).toHaveLength(0);
    expect((await stack.db.query('SELECT description FROM payments'))[0].description).toBeNull();
  });

  it('two Authorization headers → 400 validation-failed naming the header, before anything is stored', async () => {
    const other = await createMerchant(stack, 'Other');
    for (const keys of [[merchant.test_key, merchant.test_key], [merchant.test_key, other.test_key], [merchant.test_key, 'sk_test_unknown']]) {
      const auth = keys.flatMap((key) => ['authorization', `Bearer ${key}`]);
      const res = await sendRepeated('POST', '/v1/payments', [...auth, 'idempotency-key', randomUUID()], visa);
      expectProblem(res, 400, 'validation-failed');
      expect(res.body.errors).toEqual([{ field: 'Authorization', message: expect.stringMatching(/exactly one/) }]);
      expectProblem(await sendRepeated('GET', '/v1/payments', auth), 400, 'validation-failed');
    }
    await nothingStored();
  });

  it('two Content-Type headers (equal or not) → 415 unsupported-media-type, nothing stored or charged', async () => {
    for (const second of ['application/json', 'text/plain']) {
      const headers = ['authorization', `Bearer ${merchant.test_key}`, 'idempotency-key', randomUUID(), 'content-type', 'application/json', 'content-type', second];
      const res = await sendRepeated('POST', '/v1/payments', headers, visa);
      expectProblem(res, 415, 'unsupported-media-type');
      expect(res.body.detail).toMatch(/exactly one Content-Type/);
    }
    await nothingStored();
  });

  it('one of each still works (the client used above sends headers as given)', async () => {
    const res = await sendRepeated('POST', '/v1/payments', ['authorization', `Bearer ${merchant.test_key}`, 'idempotency-key', randomUUID()], visa);
    expect(res.status).toBe(201);
    expect(totalCharges(stack)).toBe(1);
  });
});

describe("the router's own refusals are problem+json with a status the operation documents", () => {
  const long = `pay_${'x'.repeat(120)}`;
  const badEncodings = ['%E0%A4%A', 'pay%FF', 'pay%zz', '%'];

  /** Every operation that takes an id, with `id` as its payment id (and `refundId` as the refund's). */
  async function everyIdOperation(id: string, refundId = id) {
    const key = merchant.test_key;
    return [
      await call(stack.baseUrl, 'GET', `/v1/payments/${id}`, undefined, { key }),
      await call(stack.baseUrl, 'PATCH', `/v1/payments/${id}`, { description: 'x' }, { key, idempotencyKey: randomUUID() }),
      await call(stack.baseUrl, 'POST', `/v1/payments/${id}/refunds`, {}, { key, idempotencyKey: randomUUID() }),
      await call(stack.baseUrl, 'GET', `/v1/payments/${id}/refunds`, undefined, { key }),
      await call(stack.baseUrl, 'GET', `/v1/payments/pay_1/refunds/${refundId}`, undefined, { key }),
      await call(stack.baseUrl, 'GET', `/v2/payments/${id}`, undefined, { key }),
    ];
  }

  it('an id over the router\'s parameter limit → 404 resource-not-found on every operation that takes one', async () => {
    const answers = [...(await everyIdOperation(long, `re_${'x'.repeat(120)}`)), await call(stack.baseUrl, 'GET', `/v1/payments/${long}`, undefined, {})];
    for (const res of answers) expectProblem(res, 404, 'resource-not-found');
    await nothingStored();
  });

  it.each(badEncodings)('a path with bad percent-encoding (%s) → 400 validation-failed on every operation', async (bad) => {
    for (const res of await everyIdOperation(bad)) {
      expectProblem(res, 400, 'validation-failed');
      expect(res.body.detail).toMatch(/percent-encoding/);
    }
    await nothingStored();
  });

  it('a request line Node cannot parse → 400 problem+json, with the Trace-Id header too', async () => {
    const res = await exchange(stack.baseUrl, 'GET /v1/pay\x01ments HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(res.closedAfterMs).toBeDefined();
    expectProblem(res, 400, 'validation-failed');
  });
});

describe('slow clients', () => {
  let slow: Stack;
  beforeAll(async () => {
    slow = await startStack({ httpRequestTimeoutMs: 1000, httpHeadersTimeoutMs: 1000 });
  });
  afterAll(() => slow.close());
  beforeEach(async () => {
    await resetStack(slow);
    merchant = await createMerchant(slow);
  });

  const postHead = (length: number, extra = '') =>
    `POST /v1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${merchant.test_key}\r\nIdempotency-Key: ${randomUUID()}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

  it('a body trickled a byte every 300 ms → 408 request-timeout with the request\'s trace id, then the connection closes; nothing stored', async () => {
    const body = JSON.stringify(visa);
    const traceId = randomUUID().replaceAll('-', '');
    const res = await exchange(slow.baseUrl, postHead(Buffer.byteLength(body), `traceparent: 00-${traceId}-00f067aa0ba902b7-01\r\n`), body);
    expect(res.closedAfterMs).toBeDefined();
    // 1 s timeout, checked every 250 ms: cut after ~1.25 s, while the whole body would take ~18 s.
    expect(res.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(res.closedAfterMs).toBeLessThan(4000);
    expectProblem(res, 408, 'request-timeout');
    expect(res.body.trace_id).toBe(traceId);
    expect(res.headers.get('connection')).toBe('close');
    expect(v1.check('POST', '/v1/payments', res.status, res.headers, res.text)).toEqual([]);
    expect(await slow.db.query('SELECT id FROM idempotency_keys')).toHaveLength(0);
    expect(await slow.db.query('SELECT id FROM payments')).toHaveLength(0);
    expect(totalCharges(slow)).toBe(0);
  });

  it('headers trickled a byte every 300 ms → 408 request-timeout, then the connection closes', async () => {
    const res = await exchange(slow.baseUrl, 'GET /v1/payments HTTP/1.1\r\nHost: x\r\nX-Slow: ', 'a'.repeat(60));
    expect(res.closedAfterMs).toBeDefined();
    expect(res.closedAfterMs).toBeLessThan(4000);
    expectProblem(res, 408, 'request-timeout');
    expect(v1.check('GET', '/v1/payments', res.status, res.headers, res.text)).toEqual([]);
  });

  it('a request refused before its body arrived gets that one answer, no second one when the body then times out', async () => {
    const res = await exchange(slow.baseUrl, postHead(60).replace('POST /v1/payments ', `POST /v1/payments?api_key=${merchant.test_key} `), '{"amount":');
    expectProblem(res, 400, 'api-key-in-url');
    expect(res.raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(res.closedAfterMs).toBeDefined();
    expect(res.closedAfterMs).toBeLessThan(4000);
  });

  it('a handler slower than the request timeout still answers: the timeout covers receiving the request only', async () => {
    slow.sandbox.latencyMs = 1500;
    const started = Date.now();
    const res = await call(slow.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(totalCharges(slow)).toBe(1);
  });

  it('an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const short = await startStack({ httpKeepAliveTimeoutMs: 1000 });
    try {
      const owner = await createMerchant(short);
      const res = await exchange(short.baseUrl, `GET /v1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.test_key}\r\n\r\n`, '', 300, 6000);
      expect(res.status).toBe(200);
      expect(res.headers.get('keep-alive')).toBe('timeout=1');
      expect(res.closedAfterMs).toBeDefined();
      expect(res.closedAfterMs).toBeGreaterThanOrEqual(900);
      expect(res.closedAfterMs).toBeLessThan(3000);
    } finally {
      await short.close();
    }
  });

  it('the timeouts are read from the environment, with defaults, and checked at boot', () => {
    expect(loadConfig({})).toMatchObject({ httpRequestTimeoutMs: 15_000, httpHeadersTimeoutMs: 10_000, httpKeepAliveTimeoutMs: 72_000 });
    expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '5000' })).toMatchObject({
      httpRequestTimeoutMs: 2000,
      httpHeadersTimeoutMs: 1000,
      httpKeepAliveTimeoutMs: 5000,
    });
    expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '5000' })).toMatchObject({ httpRequestTimeoutMs: 5000, httpHeadersTimeoutMs: 5000 });
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0' })).toThrow(/HTTP_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '6000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS must not exceed/);
  });
});

describe('what reaches the logs (a child server at LOG_LEVEL=info)', () => {
  let child: ChildServer;
  beforeAll(async () => {
    child = await startChildServer({
      LOG_LEVEL: 'info',
      DATABASE_URL: String(stack.config.databaseUrl),
      SANDBOX_URL: stack.sandboxUrl,
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    child.process.kill('SIGTERM');
    await child.exited;
  });

  const encodeAll = (text: string) => [...text].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');

  it('a secret key anywhere in the query string → 400 api-key-in-url before authentication; nothing stored; the key never logged', async () => {
    const key = merchant.test_key;
    const secret = key.slice('sk_test_'.length);
    const auth = { key };
    const refused = [
      await call(child.baseUrl, 'GET', `/v1/payments?api_key=${key}`, undefined, {}),
      await call(child.baseUrl, 'GET', `/v1/payments?limit=2&token=${merchant.live_key}`, undefined, auth),
      await call(child.baseUrl, 'GET', `/v1/payments?${key}`, undefined, {}),
      await call(child.baseUrl, 'GET', `/v1/payments?${key}=1`, undefined, {}),
      await call(child.baseUrl, 'GET', `/v1/payments?k=${encodeAll(key)}`, undefined, {}),
      await call(child.baseUrl, 'GET', `/v1/payments?k=sk%5Ftest%5F${secret}`, undefined, {}),
      await call(child.baseUrl, 'GET', `/v1/payments/pay_1?api_key=${key}`, undefined, auth),
      await call(child.baseUrl, 'GET', `/v2/payments/pay_1?api_key=${key}`, undefined, auth),
      await call(child.baseUrl, 'POST', `/v1/payments?api_key=${key}`, visa, { ...auth, idempotencyKey: randomUUID() }),
      await call(child.baseUrl, 'POST', `/v1/payments?api_key=${key}`, visa, { idempotencyKey: randomUUID() }),
    ];
    for (const res of refused) {
      expectProblem(res, 400, 'api-key-in-url');
      expect(res.body.detail).toContain('Authorization: Bearer');
      expect(res.text).not.toContain(secret);
    }
    await nothingStored();

    const allowed = await call(child.baseUrl, 'GET', '/v1/payments?limit=2&starting_after=pay_CanaryValue123', undefined, auth);
    expect(allowed.status).toBe(200);

    // The request lines are written, with their query values redacted.
    await expect.poll(() => child.output().match(/"msg":"request"/g)?.length ?? 0).toBeGreaterThanOrEqual(refused.length + 1);
    const log = child.output();
    expect(log).toContain('"url":"/v1/payments?api_key=[redacted]"');
    expect(log).toContain('"url":"/v1/payments?limit=[redacted]&starting_after=[redacted]"');
    expect(log).not.toContain(secret);
    expect(log).not.toContain(encodeAll(secret));
    expect(log).not.toContain(merchant.live_key.slice('sk_live_'.length));
    expect(log).not.toContain('CanaryValue123');
  });

  it('an undecodable query or a 404 route logs no query values either', async () => {
    const before = child.output().length;
    expectProblem(await call(child.baseUrl, 'GET', `/v1/payments?k=%FF${merchant.test_key}`, undefined, {}), 400, 'api-key-in-url');
    expectProblem(await call(child.baseUrl, 'GET', `/v1/payments/pay%FF?k=${merchant.test_key}`, undefined, {}), 400, 'validation-failed');
    expectProblem(await call(child.baseUrl, 'GET', `/v1/nowhere?api_key=${merchant.test_key}`, undefined, {}), 404, 'route-not-found');
    await sleep(200);
    const log = child.output().slice(before);
    expect(log).toContain('"status":404');
    expect(log).not.toContain(merchant.test_key.slice('sk_test_'.length));
  });

  it('a request cut off for its slow body is logged as a request, not as a failure of ours (HTTP_REQUEST_TIMEOUT_MS read from the env)', async () => {
    const before = child.output().length;
    const head = `POST /v1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${merchant.test_key}\r\nIdempotency-Key: ${randomUUID()}\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n`;
    const res = await exchange(child.baseUrl, head, '{"amount": 5000');
    expectProblem(res, 408, 'request-timeout');
    expect(res.closedAfterMs).toBeLessThan(4000);
    await sleep(200);
    const log = child.output().slice(before);
    expect(log).toContain(`"trace_id":"${res.body.trace_id}"`);
    expect(log).toContain('"status":408');
    expect(log).not.toMatch(/ERROR|failed/);
    await nothingStored();
  });
});

describe('response headers', () => {
  const apiHeaders = (res: Pick<ApiResponse, 'headers'>) => ({
    nosniff: res.headers.get('x-content-type-options'),
    cache: res.headers.get('cache-control'),
  });
  const expected = { nosniff: 'nosniff', cache: 'no-store' };

  it('every API answer, problem or not, replay included, is nosniff and no-store', async () => {
    const key = merchant.test_key;
    const idempotencyKey = randomUUID();
    const created = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey });
    const replay = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key, idempotencyKey });
    expect([created.status, replay.status, replay.headers.get('idempotent-replayed')]).toEqual([201, 201, 'true']);
    const answers = [
      created,
      replay,
      await call(stack.baseUrl, 'POST', '/v1/payments', { ...visa, amount: 'x' }, { key, idempotencyKey: randomUUID() }),
      await call(stack.baseUrl, 'GET', '/v1/payments/pay_missing', undefined, { key }),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, {}),
      await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key }),
      await call(stack.baseUrl, 'GET', `/v2/payments/${created.body.id}`, undefined, { key }),
      await call(stack.baseUrl, 'GET', '/v1/payments/pay%FF', undefined, { key }),
      await call(stack.baseUrl, 'GET', `/v1/payments/${'x'.repeat(120)}`, undefined, { key }),
      await call(stack.baseUrl, 'GET', '/nowhere', undefined, {}),
      await call(stack.baseUrl, 'GET', '/docs/package.json', undefined, { spec: false }),
    ];
    for (const res of answers) expect(apiHeaders(res)).toEqual(expected);
    const unparsable = await exchange(stack.baseUrl, 'GET /v1/pay\x01ments HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(apiHeaders(unparsable)).toEqual(expected);
  });

  it('the published spec and the docs assets keep their own caching', async () => {
    for (const path of ['/openapi/v1.yaml', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']) {
      const res = await call(stack.baseUrl, 'GET', path, undefined, { spec: false });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=300');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('the /docs page has a CSP that allows same-origin scripts only, no inline script, and keeps no API key in the browser', async () => {
    const page = await call(stack.baseUrl, 'GET', '/docs', undefined, { spec: false });
    expect(page.status).toBe(200);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = Object.fromEntries(
      (page.headers.get('content-security-policy') ?? '').split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]),
    );
    expect(csp['default-src']).toEqual(["'none'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['connect-src']).toEqual(["'self'"]);
    expect(csp['img-src']).toEqual(["'self'", 'data:']);
    expect(csp['frame-ancestors']).toEqual(["'none'"]);

    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, inline] of scripts) {
      expect(inline.trim()).toBe('');
      const src = /src="([^"]+)"/.exec(attributes)?.[1] ?? '';
      expect(src).toMatch(/^\/docs\/[\w.-]+\.js$/);
      const file = await call(stack.baseUrl, 'GET', src, undefined, { spec: false });
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toMatch(/^text\/javascript/);
    }
    expect(page.text).not.toMatch(/\son\w+=/);
    const init = await call(stack.baseUrl, 'GET', '/docs/init.js', undefined, { spec: false });
    expect(init.text).toContain('SwaggerUIBundle(');
    expect(init.text).toContain('/openapi/v1.yaml');
    expect(init.text).toMatch(/persistAuthorization: false/);
  });
});
