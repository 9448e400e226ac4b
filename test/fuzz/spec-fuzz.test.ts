import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Client } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { call, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';
import { PUBLIC_V4, stubHostResolver } from '../support/host-resolver-stub.js';
import { SpecValidator } from '../support/spec-validator.js';
import { hostileValues, type Schema, SchemaArbitraries } from './schema-arbitraries.js';

/**
 * Requests generated from the served specs for every operation, valid and invalid — bodies from the
 * request schemas and values each schema refuses, what no schema allows (prototype names, deep
 * nesting, lone surrogates, NUL), and wrong, missing or repeated headers, queries and path
 * parameters. Every answer must be documented by the spec (status, headers, body) and none a 5xx;
 * an invalid request must get a 4xx and leave no row behind.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 600);

interface Operation {
  spec: 'v1' | 'v2';
  method: string;
  template: string;
  pathParams: string[];
  query: Record<string, Schema>;
  idempotent: boolean;
  body?: Schema;
}

interface FuzzRequest {
  operation: string;
  method: string;
  path: string;
  headers: [string, string][];
  body?: string;
  /** Undefined for a request the spec allows; else why it is invalid. */
  invalid?: string;
  idempotencyKey?: string;
}

const specs = { v1: parse(readFileSync('openapi/v1.yaml', 'utf8')) as Schema, v2: parse(readFileSync('openapi/v2.yaml', 'utf8')) as Schema };
const validators = { v1: new SpecValidator('openapi/v1.yaml'), v2: new SpecValidator('openapi/v2.yaml') };

function operationsOf(spec: 'v1' | 'v2'): Operation[] {
  const doc = specs[spec];
  const schemas = new SchemaArbitraries(doc);
  const resolveParam = (p: Schema) => schemas.resolve(p) as { name: string; in: string; schema: Schema };
  return Object.entries(doc.paths as Record<string, Schema>).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'patch', 'delete', 'put'].includes(method))
      .map(([method, raw]) => {
        const op = raw as Schema;
        const params = [...((item.parameters as Schema[]) ?? []), ...((op.parameters as Schema[]) ?? [])].map(resolveParam);
        const body = (op.requestBody as Schema | undefined)?.content as Record<string, { schema: Schema }> | undefined;
        return {
          spec,
          method: method.toUpperCase(),
          template,
          pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
          query: Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
          idempotent: params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
          body: body?.['application/json']?.schema,
        };
      }),
  );
}

const operations = [...operationsOf('v1'), ...operationsOf('v2')];

let stack: Stack;
let merchant: CreatedMerchant;
let known: { payments: string[]; refunds: string[]; webhookEndpoints: string[] };
/** Keys sent by requests the spec allows: the only ones that may leave rows. */
const validKeys = new Set<string>();
let client: Client;

beforeAll(async () => {
  // With a sandbox webhook secret, forged provider webhooks reach the signature check (and are refused there).
  stack = await startStack({ sandboxWebhookSecrets: [`whsec_${Buffer.alloc(32, 7).toString('base64')}`] });
  // Every generated host name resolves to a public address: no DNS is asked, and URLs get past the guard.
  stubHostResolver(stack, {}, [PUBLIC_V4]);
  await resetStack(stack);
  merchant = await createMerchant(stack);
  const paid = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: 'fuzz-setup-1' });
  const declined = await call(stack.baseUrl, 'POST', '/v1/payments', { ...visa, payment_method: 'pm_card_declined' }, { key: merchant.test_key, idempotencyKey: 'fuzz-setup-2' });
  const refund = await call(stack.baseUrl, 'POST', `/v1/payments/${paid.body.id}/refunds`, { amount: 100 }, { key: merchant.test_key, idempotencyKey: 'fuzz-setup-3' });
  const endpoints = await Promise.all(
    ['fuzz-setup-4', 'fuzz-setup-5'].map((key) =>
      call(stack.baseUrl, 'POST', '/v1/webhook_endpoints', { url: 'https://hooks.example.com/fuzz', enabled_events: ['*'] }, { key: merchant.test_key, idempotencyKey: key }),
    ),
  );
  known = { payments: [paid.body.id, declined.body.id], refunds: [refund.body.id], webhookEndpoints: endpoints.map((e) => e.body.id) };
  for (const key of ['fuzz-setup-1', 'fuzz-setup-2', 'fuzz-setup-3', 'fuzz-setup-4', 'fuzz-setup-5']) validKeys.add(key);
  client = new Client(stack.baseUrl);
});
afterAll(async () => {
  await client?.close();
  await stack?.close();
});

const anyText = fc.string({ unit: 'grapheme', maxLength: 30 });
/** The ids a path parameter names when it names something that exists. */
const knownIds = (template: string, name: string) =>
  name === 'refund_id' ? known.refunds : template.startsWith('/v1/webhook_endpoints/') ? known.webhookEndpoints : known.payments;

/** Path parameters the spec allows (any string): known ids (or providers), unknown ones, and odd bytes. */
const pathParam = (template: string, name: string) =>
  fc.oneof(
    ...(name === 'provider' ? [{ arbitrary: fc.constantFrom('sandbox', 'provider'), weight: 6 }] : []),
    { arbitrary: fc.constantFrom(...knownIds(template, name)), weight: 3 },
    { arbitrary: anyText.filter((s) => s !== '').map(encodeURIComponent), weight: 1 },
    { arbitrary: fc.constantFrom('%00', 'pay_%00', 'pay_x', `pay_${'0'.repeat(26)}`, 'x'.repeat(150), '%2F', 're_%FF%FE'), weight: 1 },
  );

function requestFor(op: Operation): fc.Arbitrary<FuzzRequest> {
  const schemas = new SchemaArbitraries(specs[op.spec]);
  const path = fc
    .tuple(...op.pathParams.map((name) => pathParam(op.template, name)))
    .map((values) => op.pathParams.reduce((p, name, i) => p.replace(`{${name}}`, values[i]), op.template));
  const query = fc.record(
    Object.fromEntries(Object.entries(op.query).map(([name, schema]) => [name, schemas.valid(schema).map(String)])),
    { requiredKeys: [] },
  ) as fc.Arbitrary<Record<string, string>>;
  const traceparent = fc.option(fc.oneof(fc.constant(`00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01`), anyText.filter((s) => /^[\x20-\x7e]*$/.test(s))), { nil: undefined });
  const body = op.body ? schemas.valid(op.body).map((b) => JSON.stringify(b)) : fc.constant(undefined);

  const valid = fc.record({ path, query, traceparent, body }).map(({ path, query, traceparent, body }) =>
    build(op, { path, query, body, extraHeaders: traceparent === undefined ? [] : [['traceparent', traceparent]] }),
  );

  const invalid: fc.Arbitrary<FuzzRequest>[] = [
    fc.tuple(path, fc.constantFrom<[string, [string, string][]]>(
      ['no Authorization', []],
      ['a Basic Authorization', [['authorization', `Basic ${Buffer.from('a:b').toString('base64')}`]]],
      ['an unknown key', [['authorization', 'Bearer sk_test_unknown']]],
      ['two Authorization headers', [['authorization', `Bearer KEY`], ['authorization', 'Bearer KEY']]],
    )).map(([p, [why, auth]]) => build(op, { path: p, auth, invalid: why })),
    fc.tuple(path, fc.constantFrom('api_key', 'key', 'sk_test_x')).map(([p, name]) => build(op, { path: p, query: { [name]: 'sk_test_abcdef' }, invalid: 'a key in the query string' })),
  ];
  if (Object.keys(op.query).length > 0) {
    invalid.push(
      fc.tuple(path, fc.constantFrom(...Object.keys(op.query))).chain(([p, name]) =>
        schemas.invalidQueryValue(op.query[name]).map((bad) => build(op, { path: p, query: { [name]: bad.value }, invalid: `${name}: ${bad.why}` })),
      ),
      fc.tuple(path, fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype), 'unknown_param')).map(([p, name]) => build(op, { path: p, query: { [name]: '1' }, invalid: `query parameter ${name}` })),
    );
  }
  if (op.idempotent) {
    invalid.push(
      fc.tuple(path, body, fc.constantFrom<[string, string[]]>(
        ['no Idempotency-Key', []],
        ['an empty Idempotency-Key', ['']],
        ['a 256-character Idempotency-Key', ['k'.repeat(256)]],
        ['a non-ASCII Idempotency-Key', ['clé']],
        ['two Idempotency-Key headers', ['same', 'same']],
      )).map(([p, b, [why, keys]]) => build(op, { path: p, body: b, idempotencyKeys: keys, invalid: why })),
    );
  }
  if (op.body) {
    const bodyOf = op.body;
    invalid.push(
      fc.tuple(path, schemas.invalid(bodyOf)).map(([p, bad]) => build(op, { path: p, body: JSON.stringify(bad.value), invalid: `body: ${bad.why}` })),
      fc.tuple(path, schemas.valid(bodyOf), hostileValues, fc.constantFrom('top', 'metadata', 'value')).map(([p, good, hostile, where]) => {
        const value = good as Record<string, unknown>;
        const placed =
          where === 'value'
            ? { ...value, metadata: { k: hostile.value } }
            : where === 'metadata' && typeof hostile.value === 'object' && hostile.value !== null && !Array.isArray(hostile.value)
              ? { ...value, metadata: hostile.value }
              : { ...(typeof hostile.value === 'object' && hostile.value !== null && !Array.isArray(hostile.value) ? hostile.value : { extra: hostile.value }), ...value };
        return build(op, { path: p, body: rawJson(placed), invalid: `body with ${hostile.why} (${where})` });
      }),
      fc.tuple(path, fc.constantFrom('{', '{"amount":', 'nul', '[1,', '{"a":1}}', '', '\u0000', '{"a":"\\ud800', "{'a':1}")).map(([p, text]) => build(op, { path: p, body: text, invalid: `malformed JSON ${JSON.stringify(text)}` })),
      fc.tuple(path, fc.constantFrom('[]', '1', '"x"', 'null', 'true', '[{}]')).map(([p, text]) => build(op, { path: p, body: text, invalid: `a JSON ${text} body` })),
      fc.tuple(path, body, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/xml')).map(([p, b, type]) =>
        build(op, { path: p, body: b, contentType: type, invalid: `Content-Type ${type}` }),
      ),
    );
  }
  return fc.oneof({ arbitrary: valid, weight: invalid.length }, ...invalid.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

/** JSON text of a value whose keys may include `__proto__`, which `JSON.stringify` of an object literal would lose. */
function rawJson(value: Record<string, unknown>): string {
  return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`).join(',')}}`;
}

let counter = 0;

function build(
  op: Operation,
  parts: { path: string; query?: Record<string, string>; body?: string; auth?: [string, string][]; idempotencyKeys?: string[]; contentType?: string; extraHeaders?: [string, string][]; invalid?: string },
): FuzzRequest {
  const query = Object.entries(parts.query ?? {});
  const path = query.length ? `${parts.path}?${query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}` : parts.path;
  const headers: [string, string][] = [...(parts.auth ?? [['authorization', 'Bearer KEY']]), ...(parts.extraHeaders ?? [])];
  let idempotencyKey: string | undefined;
  if (op.idempotent) {
    const keys = parts.idempotencyKeys ?? [`fuzz-${++counter}-${randomUUID()}`];
    for (const key of keys) headers.push(['idempotency-key', key]);
    if (keys.length === 1) idempotencyKey = keys[0];
  }
  if (parts.body !== undefined) headers.push(['content-type', parts.contentType ?? 'application/json']);
  return { operation: `${op.method} ${op.template}`, method: op.method, path, headers, body: parts.body, invalid: parts.invalid, idempotencyKey };
}

async function send(request: FuzzRequest) {
  const headers = request.headers.flatMap(([name, value]) => [name, value.replace('KEY', merchant.test_key)]);
  const res = await client.request({ method: request.method as 'GET', path: request.path, headers, body: request.body });
  const text = await res.body.text();
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) for (const v of [value].flat()) if (v !== undefined) responseHeaders.append(name, v);
  return { status: res.statusCode, headers: responseHeaders, text };
}

async function rowsFor(key: string): Promise<number> {
  const [{ n }] = await stack.db.query(
    `SELECT (SELECT count(*) FROM idempotency_keys WHERE key = $1) + (SELECT count(*) FROM payments WHERE operation_id = $1)
            + (SELECT count(*) FROM refunds WHERE operation_id = $1) AS n`,
    [key],
  );
  return Number(n);
}

it(`${RUNS} generated requests over every operation of v1 and v2: no 5xx, every answer as the spec says, no row from an invalid request`, async () => {
  const seen = new Map<string, { valid: number; invalid: number }>();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...operations).chain(requestFor), async (request) => {
      const answer = await send(request);
      const where = `${request.method} ${request.path} (${request.invalid ?? 'valid'}) → ${answer.status} ${answer.text.slice(0, 300)}`;
      const tally = seen.get(request.operation) ?? { valid: 0, invalid: 0 };
      tally[request.invalid ? 'invalid' : 'valid']++;
      seen.set(request.operation, tally);
      expect(answer.status, where).toBeLessThan(500);
      const spec = request.path.startsWith('/v2/') ? validators.v2 : validators.v1;
      expect(spec.check(request.method, request.path.split('?')[0], answer.status, answer.headers, answer.text), where).toEqual([]);
      if (request.invalid) {
        expect(answer.status, where).toBeGreaterThanOrEqual(400);
        if (request.idempotencyKey) expect(await rowsFor(request.idempotencyKey), where).toBe(0);
      } else if (request.idempotencyKey) {
        validKeys.add(request.idempotencyKey);
      }
    }),
    { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
  );

  // Every operation was tried both ways, and nothing but the allowed requests left rows.
  expect([...seen.keys()].sort()).toEqual(operations.map((o) => `${o.method} ${o.template}`).sort());
  for (const [operation, tally] of seen) expect([operation, tally.valid > 0, tally.invalid > 0]).toEqual([operation, true, true]);
  const stored: { key: string }[] = await stack.db.query(
    `SELECT key FROM idempotency_keys UNION SELECT operation_id FROM payments UNION SELECT operation_id FROM refunds`,
  );
  expect(stored.map((r) => r.key).filter((k) => !validKeys.has(k))).toEqual([]);
}, 300_000);
