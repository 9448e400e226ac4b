import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { SsrfGuard, UnsafeUrlError } from '../../src/webhooks/outbound/ssrf-guard.js';
import { PUBLIC_V4, PUBLIC_V6, stubHostResolver, TableResolver } from '../support/host-resolver-stub.js';
import { call, createMerchant, resetStack, type Stack, startStack } from '../support/harness.js';

/**
 * The endpoint URL guard, through the API (each unsafe URL refused at creation, nothing stored) and
 * directly over generated addresses of every refused range. DNS is a table: no test resolves a name
 * for real or sends anything to a private range.
 */
const ALLOWED_HOST = 'receiver.test';
const DNS = {
  'hooks.example.com': [PUBLIC_V4],
  'v6.example.com': [PUBLIC_V6],
  localhost: ['127.0.0.1', '::1'],
  'intranet.example.com': ['192.168.1.20'],
  'metadata.example.com': ['169.254.169.254'],
  'mixed.example.com': [PUBLIC_V4, '10.0.0.7'],
  'mixed6.example.com': [PUBLIC_V6, 'fd12:3456::1'],
  'mapped.example.com': ['::ffff:10.0.0.1'],
  [ALLOWED_HOST]: ['127.0.0.1', '10.0.0.5'],
};

let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await startStack({ webhookAllowedHosts: [ALLOWED_HOST] });
  stubHostResolver(stack, DNS);
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

const create = (url: string) =>
  call(stack.baseUrl, 'POST', '/v1/webhook_endpoints', { url, enabled_events: ['*'] }, { key: merchant.test_key, idempotencyKey: randomUUID() });

async function storedRows(): Promise<number> {
  const [{ n }] = await stack.db.query(
    `SELECT (SELECT count(*) FROM webhook_endpoints) + (SELECT count(*) FROM webhook_endpoint_secrets) + (SELECT count(*) FROM idempotency_keys) AS n`,
  );
  return Number(n);
}

describe('at creation, through the API', () => {
  it.each([
    ['127.0.0.1', 'https://127.0.0.1/hook', /127\.0\.0\.1 is not a public address: loopback/],
    ['localhost', 'https://localhost/hook', /loopback/],
    ['a subdomain of localhost', 'https://api.localhost/hook', /loopback/],
    ['10/8', 'https://10.20.30.40/hook', /private \(10\.0\.0\.0\/8\)/],
    ['172.16/12', 'https://172.31.255.1/hook', /private \(172\.16\.0\.0\/12\)/],
    ['192.168/16', 'https://192.168.0.1/hook', /private \(192\.168\.0\.0\/16\)/],
    ['100.64/10', 'https://100.100.100.100/hook', /carrier-grade NAT/],
    ['169.254.169.254 (cloud metadata)', 'https://169.254.169.254/latest/meta-data', /link-local/],
    ['0.0.0.0', 'https://0.0.0.0/hook', /unspecified/],
    ['[::1]', 'https://[::1]/hook', /loopback/],
    ['[fd00::1]', 'https://[fd00::1]/hook', /unique-local/],
    ['[fe80::1]', 'https://[fe80::1]/hook', /link-local/],
    ['[::ffff:127.0.0.1]', 'https://[::ffff:127.0.0.1]/hook', /IPv4-mapped/],
    ['[::127.0.0.1] (v4-compatible)', 'https://[::127.0.0.1]/hook', /IPv4-compatible/],
    ['[64:ff9b::a00:1] (NAT64 of 10.0.0.1)', 'https://[64:ff9b::a00:1]/hook', /NAT64/],
    ['127.0.0.1 as one decimal number', 'http://2130706433/hook', /127\.0\.0\.1 is not a public address: loopback|must use https/],
    ['127.0.0.1 as one decimal number, https', 'https://2130706433/hook', /127\.0\.0\.1 is not a public address: loopback/],
    ['127.0.0.1 in hex parts', 'https://0x7f.1/hook', /127\.0\.0\.1 is not a public address: loopback/],
    ['127.0.0.1 in octal', 'https://0177.0.0.01/hook', /127\.0\.0\.1 is not a public address: loopback/],
    ['127.0.0.1 as one hex number', 'https://0x7f000001/hook', /127\.0\.0\.1 is not a public address: loopback/],
    ['127.0.0.1 shortened', 'https://127.1/hook', /127\.0\.0\.1 is not a public address: loopback/],
    ['plain http to a public host not allowed', 'http://hooks.example.com/hook', /must use https/],
    ['a name resolving to a private address', 'https://intranet.example.com/hook', /intranet\.example\.com resolves to 192\.168\.1\.20/],
    ['a name resolving to the metadata address', 'https://metadata.example.com/hook', /resolves to 169\.254\.169\.254/],
    ['a name with a public and a private address', 'https://mixed.example.com/hook', /resolves to 10\.0\.0\.7/],
    ['a name with a public and a unique-local IPv6 address', 'https://mixed6.example.com/hook', /resolves to fd12:3456::1/],
    ['a name resolving to a v4-mapped address', 'https://mapped.example.com/hook', /IPv4-mapped/],
    ['a name that does not resolve', 'https://nowhere.example.com/hook', /does not resolve/],
    ['a user name and password', 'https://user:pw@hooks.example.com/hook', /user name or password/],
  ])('refuses %s with 400 webhook-url-unsafe, storing nothing', async (_name, url, why) => {
    const res = await create(url);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'webhook-url-unsafe', errors: [{ field: 'url' }] });
    expect(res.body.detail).toMatch(why);
    expect(await storedRows()).toBe(0);
  });

  it.each([
    ['https to a name with a public IPv4 address', 'https://hooks.example.com/hook'],
    ['https to a name with a public IPv6 address', 'https://v6.example.com:8443/hook'],
    ['https to a public IP literal', `https://${PUBLIC_V4}/hook`],
    ['plain http to an allowed host on loopback and private addresses', `http://${ALLOWED_HOST}:4000/hook`],
    ['https to an allowed host', `https://${ALLOWED_HOST}/hook`],
  ])('allows %s', async (_name, url) => {
    const res = await create(url);
    expect(res.status).toBe(201);
    expect(res.body.url).toBe(url);
  });
});

// ---- SsrfGuard.check on its own, over generated addresses ----

const guardWith = (table: Record<string, string[]>, allowed: string[] = []) =>
  new SsrfGuard(new TableResolver(table), { webhookAllowedHosts: allowed } as unknown as AppConfig);

/** Each refused range, as an independent integer check builds it (not with the guard's BlockLists). */
const V4_RANGES: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];
const V6_RANGES: [string, number][] = [
  ['::', 96], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['3fff::', 20], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
];

const v4ToInt = (a: string) => a.split('.').reduce((n, part) => n * 256 + Number(part), 0);
const intToV4 = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
function v6ToBig(written: string): bigint {
  // A dotted IPv4 tail (::ffff:1.2.3.4) is the last two groups.
  const a = written.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, p, q, r, s) => `${((+p << 8) | +q).toString(16)}:${((+r << 8) | +s).toString(16)}`);
  const [head, tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}
const bigToV6 = (n: bigint) => Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');

const inV4 = (address: string) => V4_RANGES.some(([net, bits]) => Math.floor(v4ToInt(address) / 2 ** (32 - bits)) === Math.floor(v4ToInt(net) / 2 ** (32 - bits)));
const inV6 = (address: string) => {
  const n = v6ToBig(address);
  return n >> 125n !== 1n || V6_RANGES.some(([net, bits]) => n >> BigInt(128 - bits) === v6ToBig(net) >> BigInt(128 - bits));
};

const v4In = ([net, bits]: [string, number]) => fc.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((offset) => intToV4(v4ToInt(net) + offset));
const v6In = ([net, bits]: [string, number]) =>
  fc.bigInt({ min: 0n, max: (1n << BigInt(128 - bits)) - 1n }).map((offset) => bigToV6(v6ToBig(net) + offset));

async function refusal(guard: SsrfGuard, url: string): Promise<string | undefined> {
  try {
    await guard.check(url);
    return undefined;
  } catch (error) {
    if (error instanceof UnsafeUrlError) return error.message;
    throw error;
  }
}

describe('SsrfGuard.check', () => {
  it.each(V4_RANGES)('refuses every address of %s/%i, as a literal and as a name resolving to it', async (net, bits) => {
    await fc.assert(
      fc.asyncProperty(v4In([net, bits]), async (address) => {
        expect(await refusal(guardWith({}), `https://${address}/x`)).toMatch(/not a public address/);
        expect(await refusal(guardWith({ 'a.example': [address] }), 'https://a.example/x')).toContain(`resolves to ${address}`);
        // Listing the name as well as a public address does not help.
        expect(await refusal(guardWith({ 'a.example': [PUBLIC_V4, address] }), 'https://a.example/x')).toContain(`resolves to ${address}`);
      }),
      { numRuns: 50 },
    );
  });

  it.each(V6_RANGES)('refuses every address of %s/%i, as a literal and as a name resolving to it', async (net, bits) => {
    await fc.assert(
      fc.asyncProperty(v6In([net, bits]), async (address) => {
        expect(await refusal(guardWith({}), `https://[${address}]/x`)).toMatch(/not a public address/);
        expect(await refusal(guardWith({ 'a.example': [address] }), 'https://a.example/x')).toContain('resolves to');
      }),
      { numRuns: 50 },
    );
  });

  it('refuses IPv6 outside global unicast, and allows public addresses of both families, pinning the address it checked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.ipV4(), async (address) => {
        const why = await refusal(guardWith({ 'a.example': [address] }), 'https://a.example/x');
        expect(why === undefined).toBe(!inV4(address));
        if (!why) expect(await guardWith({ 'a.example': [address] }).check('https://a.example/x')).toMatchObject({ address, family: 4 });
      }),
      { numRuns: 2_000 },
    );
    await fc.assert(
      fc.asyncProperty(fc.ipV6(), async (address) => {
        const why = await refusal(guardWith({}), `https://[${address}]/x`);
        expect(why === undefined).toBe(!inV6(address));
      }),
      { numRuns: 2_000 },
    );
    // fc.ipV6() rarely lands in 2000::/3; draw from it on purpose.
    await fc.assert(
      fc.asyncProperty(v6In(['2000::', 3]), async (address) => {
        const checked = await refusal(guardWith({ 'a.example': [address] }), 'https://a.example/x');
        expect(checked === undefined).toBe(!inV6(address));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads every IPv4 spelling of a loopback address as loopback', async () => {
    for (const host of ['2130706433', '0x7f000001', '0x7f.1', '0177.0.0.1', '017700000001', '127.1', '127.0.1', '0x7F.0.0.0x1']) {
      expect(await refusal(guardWith({}), `https://${host}/x`), host).toMatch(/127\.0\.\d+\.\d+ is not a public address: loopback/);
    }
  });

  it('refuses what is not an https URL to a host, and a user name or password', async () => {
    const guard = guardWith({ 'a.example': [PUBLIC_V4] });
    expect(await refusal(guard, 'not a url')).toMatch(/does not parse/);
    expect(await refusal(guard, 'ftp://a.example/x')).toMatch(/must use https/);
    expect(await refusal(guard, 'http://a.example/x')).toMatch(/must use https/);
    expect(await refusal(guard, 'https://u@a.example/x')).toMatch(/user name/);
    expect(await refusal(guard, 'https://:p@a.example/x')).toMatch(/user name/);
    expect(await refusal(guardWith({ 'a.example': [] }), 'https://a.example/x')).toMatch(/does not resolve/);
  });

  it('lets an allowed host use http and any address, and nothing else through with it', async () => {
    const guard = guardWith({ 'demo.test': ['127.0.0.1'], 'b.example': ['127.0.0.1'] }, ['demo.test', '127.0.0.1', '[::1]']);
    expect(await guard.check('http://demo.test:3000/x')).toMatchObject({ address: '127.0.0.1', family: 4 });
    expect(await guard.check('http://127.0.0.1:3000/x')).toMatchObject({ address: '127.0.0.1' });
    expect(await guard.check('http://[::1]:3000/x')).toMatchObject({ address: '::1', family: 6 });
    expect(await refusal(guard, 'http://b.example/x')).toMatch(/must use https/);
    expect(await refusal(guard, 'https://b.example/x')).toMatch(/loopback/);
    expect(await refusal(guard, 'https://127.0.0.2/x')).toMatch(/loopback/);
  });
});
