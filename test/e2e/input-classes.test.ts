import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { CURRENCY_EXPONENTS } from '../../src/payments/currencies.js';
import { call, createMerchant, resetStack, type Stack, startStack, totalCharges, visa } from '../support/harness.js';

/**
 * Whole classes of bad input, each generated rather than sampled: every answer is a 4xx
 * problem+json the spec documents (the harness checks that), never a 500, and nothing is stored.
 */
let stack: Stack;
let merchant: CreatedMerchant;
let paymentId: string;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
  paymentId = (await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() })).body.id;
});

const send = (method: string, path: string, body?: unknown, raw?: string) =>
  call(stack.baseUrl, method, path, body, { key: merchant.test_key, idempotencyKey: method === 'GET' ? undefined : randomUUID(), raw });

/** What the one payment made in beforeEach left, and nothing more. */
async function nothingMoreStored(): Promise<void> {
  const [counts] = await stack.db.query(
    `SELECT (SELECT count(*) FROM idempotency_keys)::int AS keys, (SELECT count(*) FROM payments)::int AS payments,
            (SELECT count(*) FROM refunds)::int AS refunds, (SELECT count(*) FROM events)::int AS events`,
  );
  expect(counts).toEqual({ keys: 1, payments: 1, refunds: 0, events: 1 });
  expect(totalCharges(stack)).toBe(1);
}

function fieldsOf(res: { body: { errors?: { field: string }[] } }): string[] {
  return (res.body.errors ?? []).map((e) => e.field);
}

/** The writes that take a body, each with where a field and a metadata key go in it. */
const writes = () => [
  { name: 'create', method: 'POST', path: '/v1/payments', body: (extra: object) => ({ ...visa, ...extra }) },
  { name: 'update', method: 'PATCH', path: `/v1/payments/${paymentId}`, body: (extra: object) => ({ description: 'd', ...extra }) },
  { name: 'refund', method: 'POST', path: `/v1/payments/${paymentId}/refunds`, body: (extra: object) => ({ amount: 1, ...extra }) },
];

describe('keys named after Object.prototype members', () => {
  const names = Object.getOwnPropertyNames(Object.prototype);

  it(`each of the ${names.length} names, as a body field or a metadata key of every write, is a 400 naming it`, async () => {
    for (const write of writes()) {
      for (const name of names) {
        // Raw JSON: `{ [name]: … }` in JS would set the prototype for `__proto__` instead of a key.
        const asField = await send(write.method, write.path, undefined, JSON.stringify(write.body({})).replace(/^\{/, `{${JSON.stringify(name)}:"x",`));
        expect([write.name, name, asField.status, fieldsOf(asField)]).toEqual([write.name, name, 400, [name]]);
        const asMetadataKey = await send(write.method, write.path, undefined, JSON.stringify(write.body({})).replace(/^\{/, `{"metadata":{${JSON.stringify(name)}:"x"},`));
        expect([write.name, name, asMetadataKey.status, fieldsOf(asMetadataKey)]).toEqual([write.name, name, 400, [`metadata.${name}`]]);
      }
    }
    await nothingMoreStored();
  });

  it('as query parameters of both lists, each is a 400 naming it', async () => {
    for (const path of ['/v1/payments', `/v1/payments/${paymentId}/refunds`]) {
      for (const name of names) {
        const res = await send('GET', `${path}?${encodeURIComponent(name)}=1`);
        expect([path, name, res.status, fieldsOf(res)]).toEqual([path, name, 400, [name]]);
      }
    }
  });
});

describe('deep nesting', () => {
  it.each([9, 64, 2_000, 10_000])('arrays and objects %i deep in a body or in metadata are a 400 naming where', async (depth) => {
    const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    for (const nested of [arrays, objects]) {
      for (const write of writes()) {
        const inField = await send(write.method, write.path, undefined, JSON.stringify(write.body({})).replace(/^\{/, `{"deep":${nested},`));
        expect(inField.status).toBe(400);
        expect(fieldsOf(inField)[0]).toMatch(/^deep/);
        const inMetadata = await send(write.method, write.path, undefined, JSON.stringify(write.body({})).replace(/^\{/, `{"metadata":{"k":${nested}},`));
        expect(inMetadata.status).toBe(400);
        expect(fieldsOf(inMetadata)[0]).toMatch(/^metadata\.k/);
      }
    }
    await nothingMoreStored();
  });

  it('a body at the deepest the API needs (metadata inside the body) is accepted', async () => {
    const res = await send('POST', '/v1/payments', { ...visa, metadata: { order: '1' } });
    expect(res.status).toBe(201);
  });
});

describe('strings Postgres cannot store', () => {
  // Every 64th code unit of both surrogate halves, each alone, at the start, middle and end.
  const lone = Array.from({ length: 0x800 / 64 }, (_, i) => String.fromCharCode(0xd800 + i * 64));
  const shapes = (s: string) => [s, `a${s}b`, `ab${s}`];

  it(`${lone.length * 3} lone surrogates in a description, a metadata value and a metadata key: each a 400 naming the field`, async () => {
    for (const surrogate of lone) {
      for (const text of shapes(surrogate)) {
        // JSON.stringify writes a lone surrogate as a \\u escape, so the body is valid JSON that decodes to it.
        const description = await send('POST', '/v1/payments', { ...visa, description: text });
        expect(fieldsOf(description)).toEqual(['description']);
        const value = await send('PATCH', `/v1/payments/${paymentId}`, { metadata: { k: text } });
        expect(fieldsOf(value)).toEqual(['metadata.k']);
        const key = await send('POST', `/v1/payments/${paymentId}/refunds`, { metadata: { [text]: 'v' } });
        expect(key.status).toBe(400);
        expect(fieldsOf(key)).toEqual([`metadata.${text}`]);
      }
    }
    await nothingMoreStored();
  });

  it('a surrogate pair (a real emoji) is stored exactly as sent', async () => {
    const res = await send('POST', '/v1/payments', { ...visa, description: 'thanks 🎉', metadata: { 'ключ 🔑': 'значение 🎁' } });
    expect(res.status).toBe(201);
    const [row] = await stack.db.query('SELECT description, metadata FROM payments WHERE id = $1', [res.body.id]);
    expect(row).toEqual({ description: 'thanks 🎉', metadata: { 'ключ 🔑': 'значение 🎁' } });
  });
});

describe('lengths in characters', () => {
  it('metadata keys and values at their limit in characters outside the BMP (twice as many UTF-16 units) are accepted by every write; one more is a 400', async () => {
    const emoji = (n: number) => '😀'.repeat(n);
    for (const write of writes()) {
      const longest = await send(write.method, write.path, write.body({ metadata: { [emoji(40)]: emoji(500) } }));
      expect([write.name, longest.status]).toEqual([write.name, write.method === 'POST' ? 201 : 200]);
      expect(longest.body.metadata[emoji(40)]).toBe(emoji(500));
      for (const metadata of [{ [emoji(41)]: 'v' }, { k: emoji(501) }]) {
        const over = await send(write.method, write.path, write.body({ metadata }));
        expect([write.name, over.status, over.body.code]).toEqual([write.name, 400, 'validation-failed']);
      }
    }
  });
});

describe('path parameters no id can be', () => {
  const unstorable = ['pay%00', 'pay_%00x', '%00', `pay_${'0'.repeat(25)}%00`, 'pay_01JD8X4Q5R2Z7K9M3N6P8T0V1W%00', '%F0%9F%8E%89%00'];
  it.each(unstorable)('%s in every route with an id is a 404, with nothing stored', async (id) => {
    const reads = [`/v1/payments/${id}`, `/v1/payments/${id}/refunds`, `/v1/payments/${id}/refunds/re_x`, `/v1/payments/${paymentId}/refunds/${id}`, `/v2/payments/${id}`];
    for (const path of reads) expect([path, (await send('GET', path)).status]).toEqual([path, 404]);
    expect((await send('PATCH', `/v1/payments/${id}`, { description: 'x' })).status).toBe(404);
    expect((await send('POST', `/v1/payments/${id}/refunds`, {})).status).toBe(404);
    await nothingMoreStored();
  });
});

describe('currencies', () => {
  // Every code point whose Unicode case mapping gives an ASCII letter without being one itself.
  const homoglyphs = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)).filter(
    (c) => !/[A-Za-z]/.test(c) && (/^[A-Za-z]+$/.test(c.toLowerCase()) || /^[A-Za-z]+$/.test(c.toUpperCase())),
  );

  /** The ASCII letters a glyph turns into under case mapping. */
  const foldOf = (glyph: string) => (/^[A-Za-z]+$/.test(glyph.toLowerCase()) ? glyph.toLowerCase() : glyph.toUpperCase().toLowerCase());

  it('has homoglyphs to test (the Kelvin sign, the long s, the dotless i …)', () => {
    expect(homoglyphs).toEqual(expect.arrayContaining(['\u212A', '\u017F', '\u0131']));
  });

  it('a supported code with letters replaced by a case-mapping homoglyph of them is a 400', async () => {
    const codes = Object.keys(CURRENCY_EXPONENTS);
    let tried = 0;
    for (const glyph of homoglyphs) {
      const folded = foldOf(glyph);
      for (const code of codes.filter((c) => c.includes(folded))) {
        tried++;
        const spoofed = code.replace(folded, glyph);
        const res = await send('POST', '/v1/payments', { ...visa, currency: spoofed });
        expect([spoofed, res.status, fieldsOf(res)]).toEqual([spoofed, 400, ['currency']]);
      }
    }
    expect(tried).toBeGreaterThan(10);
    await nothingMoreStored();
  });

  it('every supported code is accepted in lower, upper and mixed case', async () => {
    for (const code of Object.keys(CURRENCY_EXPONENTS)) {
      for (const written of [code, code.toUpperCase(), code[0].toUpperCase() + code.slice(1)]) {
        const res = await send('POST', '/v1/payments', { ...visa, currency: written });
        expect([written, res.status, res.body.currency]).toEqual([written, 201, code]);
      }
    }
  });
});

describe('numbers in the query', () => {
  const notDecimal = ['0x10', '0X1f', '0o7', '0b11', '1e1', '1E1', '010', '007', ' 5', '5 ', '+5', '-1', '5.0', '.5', '5.', 'Infinity', 'NaN', '１０', '٣', '10_0', ''];
  it.each(['/v1/payments', 'refunds'])('limit written other than in plain decimal digits is a 400 on %s', async (list) => {
    const path = list === 'refunds' ? `/v1/payments/${paymentId}/refunds` : list;
    for (const limit of notDecimal) {
      const res = await send('GET', `${path}?limit=${encodeURIComponent(limit)}`);
      expect([limit, res.status, fieldsOf(res)]).toEqual([limit, 400, ['limit']]);
    }
    for (const limit of ['1', '9', '10', '99', '100']) expect((await send('GET', `${path}?limit=${limit}`)).status).toBe(200);
    for (const limit of ['0', '101', '1000']) expect((await send('GET', `${path}?limit=${limit}`)).status).toBe(400);
  });
});

describe('null where the spec does not allow it', () => {
  it('every optional field of every write, sent as null, is a 400 naming it', async () => {
    const optional = { create: ['description', 'metadata'], update: ['description', 'metadata'], refund: ['amount', 'reason', 'metadata'] };
    for (const write of writes()) {
      for (const field of optional[write.name as keyof typeof optional]) {
        const res = await send(write.method, write.path, write.body({ [field]: null }));
        expect([write.name, field, res.status, fieldsOf(res)]).toEqual([write.name, field, 400, [field]]);
      }
    }
    await nothingMoreStored();
  });
});

describe('declared charsets', () => {
  it('a JSON body declared in any charset but UTF-8 is a 415, and UTF-8 however spelled is read', async () => {
    const post = (contentType: string) =>
      call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID(), headers: { 'content-type': contentType } });
    for (const charset of ['utf-16', 'UTF-16LE', 'utf-32', 'latin1', 'iso-8859-1', 'windows-1252', 'us-ascii', 'utf-7', '']) {
      const res = await post(`application/json; charset=${charset}`);
      expect([charset, res.status, res.body.code]).toEqual([charset, 415, 'unsupported-media-type']);
    }
    await nothingMoreStored();
    for (const charset of ['utf-8', 'UTF-8', 'utf8', '"utf-8"']) expect((await post(`application/json; charset=${charset}`)).status).toBe(201);
  });
});
