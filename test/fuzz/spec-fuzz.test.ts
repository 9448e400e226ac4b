import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Client } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors/error-catalogue.js';
import { LONG, recordFigures } from '../chaos/figures.js';
import { answerFields, History } from '../chaos/history.js';
import { call, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';
import { PUBLIC_V4, stubHostResolver } from '../support/host-resolver-stub.js';
import { newSecret, signedHeaders } from '../support/provider-events.js';
import { SpecValidator } from '../support/spec-validator.js';
import { hostileValues, type Schema, SchemaArbitraries } from './schema-arbitraries.js';

/**
 * Requests generated from the served specs for every operation, valid and invalid — bodies from the
 * request schemas and values each schema refuses, what no schema allows (prototype names, deep
 * nesting, lone surrogates, NUL), and each header in every form the contract allows (the scheme's
 * and the media type's letter case, charset parameters, keys of up to 255 printable characters) or
 * refuses (missing, empty, repeated, oversized, non-ASCII, malformed), likewise queries and path
 * parameters. Every answer must be documented by the spec (status, headers, body) and none a 5xx;
 * an invalid request must get a 4xx and leave no row behind; a valid create must be done or refused
 * with a catalogued code the spec documents for it. Every exchange goes into the shared History,
 * checked at the end against the database and the sandbox's executions.
 *
 * FUZZ_RUNS sets the number of requests (1,000; 10,000 with CHAOS=long); FUZZ_SEED and FUZZ_PATH,
 * printed on a failure, replay the shrunk counterexample alone.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? (LONG ? 10_000 : 1_000));
const SEED = process.env.FUZZ_SEED === undefined ? (Math.random() * 2 ** 32) | 0 : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;

/** The provider webhook secret the stack is started with: the fuzz signs the events it means to be valid. */
const SANDBOX_WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** Stands for the merchant's secret key in a generated header, so a printed counterexample holds none. */
const KEY = '<key>';
const KEY_UPPER = '<KEY>';

interface Operation {
  spec: 'v1' | 'v2';
  name: string;
  method: string;
  template: string;
  pathParams: string[];
  query: Record<string, Schema>;
  idempotent: boolean;
  /** false for the provider's webhooks (`security: []`), which are signed instead. */
  secured: boolean;
  /** The statuses the spec documents for the operation. */
  statuses: string[];
  body?: Schema;
}

/** How send() signs a provider webhook when it goes out (a signature is good for 5 minutes only). */
type Signature = 'good' | 'with another secret' | '10 minutes old' | 'for another webhook-id' | 'no webhook-id' | 'no webhook-timestamp' | 'no webhook-signature';

interface FuzzRequest {
  operation: string;
  method: string;
  path: string;
  headers: [string, string][];
  body?: string;
  signature?: Signature;
  /** Undefined for a request the spec allows; else why it is invalid. */
  invalid?: string;
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
        const security = (op.security ?? doc.security) as unknown[];
        return {
          spec,
          name: `${method.toUpperCase()} ${template}`,
          method: method.toUpperCase(),
          template,
          pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
          query: Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
          idempotent: params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
          secured: security.length > 0,
          statuses: Object.keys(op.responses as Schema),
          body: body?.['application/json']?.schema,
        };
      }),
  );
}

const operations = [...operationsOf('v1'), ...operationsOf('v2')];
const operationNamed = new Map(operations.map((op) => [op.name, op]));

/** Creates: a valid one is done (200, 201, 202) or refused with a catalogued code the spec documents for it. */
const isCreate = (op: Operation) => op.method === 'POST' && op.idempotent;

/**
 * Refusals of a request's form: the spec's schemas and headers say when they apply, so a valid
 * request that gets one is refused for something the contract allows.
 */
const FORM_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'validation-failed',
  'malformed-json',
  'idempotency-key-missing',
  'idempotency-key-invalid',
  'api-key-missing',
  'api-key-invalid',
  'api-key-in-url',
  'body-too-large',
  'unsupported-media-type',
  'route-not-found',
  'method-not-allowed',
]);

/** The currencies the spec names in words (the Currency schema's pattern allows any three letters). */
const CURRENCIES = new Set(
  [...String(((specs.v1.components as Schema).schemas as Record<string, Schema>).Currency.description).matchAll(/`([a-z]{3})`/g)].map((m) => m[1]),
);

let stack: Stack;
let merchant: CreatedMerchant;
let known: { payments: string[]; refunds: string[]; webhookEndpoints: string[]; events: string[] };
/** Keys sent by requests the spec allows: the only ones that may leave rows. */
const validKeys = new Set<string>();
/** Ids of the provider events signed as the spec asks: the only ones that may be in the inbox. */
const validEvents = new Set<string>();
const history = new History();
let client: Client;

beforeAll(async () => {
  // With a sandbox webhook secret, provider webhooks reach the signature check: the signed ones are kept, the others refused there.
  stack = await startStack({ sandboxWebhookSecrets: [SANDBOX_WEBHOOK_SECRET] });
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
  const events = await call(stack.baseUrl, 'GET', '/v1/events?limit=100', undefined, { key: merchant.test_key });
  known = {
    payments: [paid.body.id, declined.body.id],
    refunds: [refund.body.id],
    webhookEndpoints: endpoints.map((e) => e.body.id),
    events: (events.body.data as { id: string }[]).map((e) => e.id),
  };
  for (const key of ['fuzz-setup-1', 'fuzz-setup-2', 'fuzz-setup-3', 'fuzz-setup-4', 'fuzz-setup-5']) validKeys.add(key);
  client = new Client(stack.baseUrl);
});
afterAll(async () => {
  await client?.close();
  await stack?.close();
});

const anyText = fc.string({ unit: 'grapheme', maxLength: 30 });
/** What an Idempotency-Key may hold: the 95 printable ASCII characters. */
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
/** Text as a client that writes UTF-8 puts it in a header: Node reads header bytes as Latin-1. */
const utf8Bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/** The ids a path parameter names when it names something that exists. */
function knownIds(template: string, name: string): string[] {
  if (name === 'refund_id') return known.refunds;
  if (template.startsWith('/v1/webhook_endpoints/')) return known.webhookEndpoints;
  if (template.startsWith('/v1/events/')) return known.events;
  return known.payments;
}

/**
 * Path parameters the spec allows (any string): known ids (or providers), unknown ones, and odd bytes.
 * Not `.` or `..`, encoded or not: those are dot segments, which make the URL another path (RFC 3986 §5.2.4).
 */
const pathParam = (template: string, name: string) =>
  fc.oneof(
    ...(name === 'provider' ? [{ arbitrary: fc.constantFrom('sandbox', 'provider'), weight: 6 }] : []),
    { arbitrary: fc.constantFrom(...knownIds(template, name)), weight: 3 },
    { arbitrary: anyText.filter((s) => s !== '' && s !== '.' && s !== '..').map(encodeURIComponent), weight: 1 },
    { arbitrary: fc.constantFrom('%00', 'pay_%00', 'pay_x', `pay_${'0'.repeat(26)}`, 'x'.repeat(150), '%2F'), weight: 1 },
  );

/** Percent-encodings that decode to no string (not UTF-8, or cut short): no value of a path parameter. */
const UNDECODABLE = ['re_%FF%FE', 'pay%FF', '%E0%A4%A', 'pay%zz', '%'];

/**
 * The forms of the headers the contract allows: the Bearer scheme in any case followed by one or
 * more spaces (RFC 9110 §11.4), any case of a header's name and of the media type, a UTF-8 charset
 * however it is written, other parameters, and an Idempotency-Key of any printable ASCII up to 255
 * characters. A header's value has no leading or trailing whitespace (RFC 9110 §5.5): the key ends
 * in another character.
 */
interface HeaderStyle {
  names: 'lower' | 'canonical' | 'upper';
  scheme: string;
  gap: string;
  contentType: string;
  keyTail: string;
  /** The key padded to the 255 characters it may have. */
  fullKey: boolean;
}

const ACCEPTED_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON',
  'APPLICATION/JSON; CHARSET=UTF-8',
  'application/json ; charset="utf-8"',
  'application/json; charset=utf8',
  'application/json;',
  'application/json; profile=x',
];

const headerStyle: fc.Arbitrary<HeaderStyle> = fc.record({
  names: fc.constantFrom('lower', 'canonical', 'upper'),
  scheme: fc.constantFrom('Bearer', 'bearer', 'BEARER'),
  gap: fc.constantFrom(' ', '  '),
  contentType: fc.constantFrom(...ACCEPTED_CONTENT_TYPES),
  keyTail: fc.oneof({ arbitrary: fc.constant(''), weight: 2 }, { arbitrary: fc.string({ unit: fc.constantFrom(...PRINTABLE), maxLength: 40 }), weight: 1 }),
  fullKey: fc.boolean(),
});

/** Authorization headers the contract refuses (none is no header at all). */
const BAD_AUTHORIZATIONS: [string, string[]][] = [
  ['no Authorization', []],
  ['an empty Authorization', ['']],
  ['a blank Authorization', ['   ']],
  ['a Basic Authorization', [`Basic ${Buffer.from('a:b').toString('base64')}`]],
  ['the key under another scheme', [`Token ${KEY}`]],
  ['the key without a scheme', [KEY]],
  ['the scheme without a key', ['Bearer']],
  ['a tab after the scheme', [`Bearer\t${KEY}`]],
  ['a comma after the scheme', [`Bearer,${KEY}`]],
  ['two credentials', [`Bearer ${KEY} ${KEY}`]],
  ['an unknown key', ['Bearer sk_test_unknown']],
  ['an unknown live key', ['Bearer sk_live_unknown']],
  ['the key in upper case', [`Bearer ${KEY_UPPER}`]],
  ['the key and one character more', [`Bearer ${KEY}x`]],
  ['a key prefix alone', ['Bearer sk_test_']],
  ['a non-ASCII key', [`Bearer ${KEY}é`]],
  ['a UTF-8 key', [utf8Bytes(`Bearer sk_test_clé`)]],
  ['an oversized key', [`Bearer sk_test_${'x'.repeat(8_000)}`]],
  ['an Authorization over the header size limit', [`Bearer sk_test_${'x'.repeat(20_000)}`]],
  ['two Authorization headers', [`Bearer ${KEY}`, `Bearer ${KEY}`]],
  ['two different Authorization headers', [`Bearer ${KEY}`, 'Bearer sk_test_unknown']],
];

/** Idempotency-Key headers the contract refuses, from a number that keeps each unique (a refused key is no key, but the History groups by key). */
const BAD_KEYS: [string, (n: number) => string[]][] = [
  ['no Idempotency-Key', () => []],
  ['an empty Idempotency-Key', () => ['']],
  ['a blank Idempotency-Key', () => ['   ']],
  ['a 256-character Idempotency-Key', (n) => [`${n}-`.padEnd(256, 'k')]],
  ['an Idempotency-Key over the header size limit', (n) => [`${n}-`.padEnd(20_000, 'k')]],
  ['a non-ASCII Idempotency-Key', (n) => [`clé-${n}`]],
  ['a UTF-8 Idempotency-Key', (n) => [utf8Bytes(`ключ-${n}`)]],
  ['a tab in the Idempotency-Key', (n) => [`k\t${n}`]],
  ['two Idempotency-Key headers', (n) => [`k-${n}`, `k-${n}`]],
  ['two different Idempotency-Key headers', (n) => [`k-${n}`, `l-${n}`]],
  ['an empty and a full Idempotency-Key', (n) => ['', `k-${n}`]],
];

/** Content-Type headers the contract refuses for a JSON body. */
const BAD_CONTENT_TYPES: string[][] = [
  [],
  [''],
  ['text/plain'],
  ['application/x-www-form-urlencoded'],
  ['multipart/form-data; boundary=x'],
  ['application/xml'],
  ['text/json'],
  ['application/problem+json'],
  ['application/vnd.api+json'],
  ['application/jsonx'],
  ['application/json, text/plain'],
  ['application/json; charset=utf-16'],
  ['application/json; charset="utf-16"'],
  ['application/json; charset=iso-8859-1'],
  ['application/json; charset=us-ascii'],
  ['application/json; charset='],
  ['application/json', 'application/json'],
  ['application/json', 'text/plain'],
];

const BAD_SIGNATURES: Signature[] = ['with another secret', '10 minutes old', 'for another webhook-id', 'no webhook-id', 'no webhook-timestamp', 'no webhook-signature'];

function requestFor(op: Operation): fc.Arbitrary<FuzzRequest> {
  const schemas = new SchemaArbitraries(specs[op.spec]);
  const params = fc.tuple(...op.pathParams.map((name) => pathParam(op.template, name)));
  const fill = (values: string[]) => op.pathParams.reduce((p, name, i) => p.replace(`{${name}}`, values[i]), op.template);
  const path = params.map(fill);
  const query = fc.record(
    Object.fromEntries(Object.entries(op.query).map(([name, schema]) => [name, schemas.valid(schema).map(String)])),
    { requiredKeys: [] },
  ) as fc.Arbitrary<Record<string, string>>;
  const traceparent = fc.option(fc.oneof(fc.constant(`00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01`), anyText.filter((s) => /^[\x20-\x7e]*$/.test(s))), { nil: undefined });
  // A provider event's id is the webhook-id it is signed under.
  const body = op.body
    ? schemas.valid(op.body).map((b) => JSON.stringify(op.secured ? b : { ...(b as object), id: `evt_fuzz_${randomUUID()}` }))
    : fc.constant(undefined);

  const valid = fc.record({ path, query, traceparent, body, style: headerStyle }).map(({ path, query, traceparent, body, style }) =>
    build(op, { path, query, body, style, signature: op.secured ? undefined : 'good', extraHeaders: traceparent === undefined ? [] : [['traceparent', traceparent]] }),
  );

  const invalid: fc.Arbitrary<FuzzRequest>[] = [
    fc.tuple(path, headerStyle, fc.constantFrom('api_key', 'key', 'sk_test_x')).map(([p, style, name]) => build(op, { path: p, style, query: { [name]: 'sk_test_abcdef' }, invalid: 'a key in the query string' })),
  ];
  if (op.secured) {
    invalid.push(fc.tuple(path, body, headerStyle, fc.constantFrom(...BAD_AUTHORIZATIONS)).map(([p, b, style, [why, values]]) => build(op, { path: p, body: b, style, authorization: values, invalid: why })));
  } else {
    invalid.push(fc.tuple(path, body, headerStyle, fc.constantFrom(...BAD_SIGNATURES)).map(([p, b, style, signature]) => build(op, { path: p, body: b, style, signature, invalid: `a webhook signed ${signature}` })));
  }
  if (op.pathParams.length > 0) {
    invalid.push(
      fc.tuple(params, body, headerStyle, fc.nat({ max: op.pathParams.length - 1 }), fc.constantFrom(...UNDECODABLE)).map(([values, b, style, i, bad]) =>
        build(op, { path: fill(values.map((v, j) => (j === i ? bad : v))), body: b, style, invalid: `${op.pathParams[i]}: ${bad} decodes to no text` }),
      ),
    );
  }
  if (Object.keys(op.query).length > 0) {
    invalid.push(
      fc.tuple(path, headerStyle, fc.constantFrom(...Object.keys(op.query))).chain(([p, style, name]) =>
        schemas.invalidQueryValue(op.query[name]).map((bad) => build(op, { path: p, style, query: { [name]: bad.value }, invalid: `${name}: ${bad.why}` })),
      ),
      fc.tuple(path, headerStyle, fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype), 'unknown_param')).map(([p, style, name]) => build(op, { path: p, style, query: { [name]: '1' }, invalid: `query parameter ${name}` })),
    );
  }
  if (op.idempotent) {
    invalid.push(
      fc.tuple(path, body, headerStyle, fc.constantFrom(...BAD_KEYS)).map(([p, b, style, [why, keys]]) => build(op, { path: p, body: b, style, idempotencyKeys: keys(++counter), invalid: why })),
    );
  }
  if (op.body) {
    const bodyOf = op.body;
    invalid.push(
      fc.tuple(path, headerStyle, schemas.invalid(bodyOf)).map(([p, style, bad]) => build(op, { path: p, style, body: JSON.stringify(bad.value), invalid: `body: ${bad.why}` })),
      fc.tuple(path, headerStyle, schemas.valid(bodyOf), hostileValues, fc.constantFrom('top', 'metadata', 'value')).map(([p, style, good, hostile, where]) => {
        const value = good as Record<string, unknown>;
        const placed =
          where === 'value'
            ? { ...value, metadata: { k: hostile.value } }
            : where === 'metadata' && typeof hostile.value === 'object' && hostile.value !== null && !Array.isArray(hostile.value)
              ? { ...value, metadata: hostile.value }
              : { ...(typeof hostile.value === 'object' && hostile.value !== null && !Array.isArray(hostile.value) ? hostile.value : { extra: hostile.value }), ...value };
        return build(op, { path: p, style, body: rawJson(placed), invalid: `body with ${hostile.why} (${where})` });
      }),
      fc.tuple(path, headerStyle, fc.constantFrom('{', '{"amount":', 'nul', '[1,', '{"a":1}}', '', '\u0000', '{"a":"\\ud800', "{'a':1}")).map(([p, style, text]) => build(op, { path: p, style, body: text, invalid: `malformed JSON ${JSON.stringify(text)}` })),
      fc.tuple(path, headerStyle, fc.constantFrom('[]', '1', '"x"', 'null', 'true', '[{}]')).map(([p, style, text]) => build(op, { path: p, style, body: text, invalid: `a JSON ${text} body` })),
      fc.tuple(path, body, headerStyle, fc.constantFrom(...BAD_CONTENT_TYPES)).map(([p, b, style, types]) =>
        build(op, { path: p, body: b, style, contentTypes: types, invalid: types.length === 0 ? 'no Content-Type' : `Content-Type ${types.map((t) => JSON.stringify(t)).join(' and ')}` }),
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

/** A key no other request has, of the style's form. */
function uniqueKey(style: HeaderStyle): string {
  const key = `fuzz-${++counter}-${randomUUID()}${style.keyTail}${style.fullKey ? PRINTABLE.repeat(3) : ''}`.slice(0, 255);
  return key.replace(/ +$/, (spaces) => '~'.repeat(spaces.length));
}

const headerName = (name: string, style: HeaderStyle) =>
  style.names === 'upper' ? name.toUpperCase() : style.names === 'canonical' ? name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()) : name;

function build(
  op: Operation,
  parts: {
    path: string;
    style: HeaderStyle;
    query?: Record<string, string>;
    body?: string;
    /** In place of the style's: the Authorization values sent (none: no header), the keys, the media types. */
    authorization?: string[];
    idempotencyKeys?: string[];
    contentTypes?: string[];
    extraHeaders?: [string, string][];
    signature?: Signature;
    invalid?: string;
  },
): FuzzRequest {
  const style = parts.style;
  const query = Object.entries(parts.query ?? {});
  const path = query.length ? `${parts.path}?${query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}` : parts.path;
  const headers: [string, string][] = [];
  if (op.secured) for (const value of parts.authorization ?? [`${style.scheme}${style.gap}${KEY}`]) headers.push(['authorization', value]);
  headers.push(...(parts.extraHeaders ?? []));
  if (op.idempotent) for (const key of parts.idempotencyKeys ?? [uniqueKey(style)]) headers.push(['idempotency-key', key]);
  if (parts.body !== undefined) for (const type of parts.contentTypes ?? [style.contentType]) headers.push(['content-type', type]);
  return {
    operation: op.name,
    method: op.method,
    path,
    headers: headers.map(([name, value]) => [headerName(name, style), value]),
    body: parts.body,
    signature: parts.signature,
    invalid: parts.invalid,
  };
}

/** The request's Idempotency-Key as the server reads it: one header, without the whitespace around a header's value. */
function idempotencyKeyOf(request: FuzzRequest): string | undefined {
  const values = request.headers.filter(([name]) => name.toLowerCase() === 'idempotency-key').map(([, value]) => value.replace(/^[ \t]+|[ \t]+$/g, ''));
  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

function eventIdOf(request: FuzzRequest): string {
  try {
    const id = (JSON.parse(request.body ?? '') as { id?: unknown }).id;
    return typeof id === 'string' && id !== '' ? id : 'evt_none';
  } catch {
    return 'evt_none';
  }
}

/** The provider's three headers, as `signature` says: signed now with the sandbox's secret, or wrong in one way. */
function webhookHeaders(request: FuzzRequest): [string, string][] {
  const id = eventIdOf(request);
  const body = request.body ?? '';
  const signature = request.signature!;
  const signed =
    signature === 'with another secret'
      ? signedHeaders(newSecret(), id, body)
      : signature === '10 minutes old'
        ? signedHeaders(SANDBOX_WEBHOOK_SECRET, id, body, new Date(Date.now() - 600_000))
        : signature === 'for another webhook-id'
          ? signedHeaders(SANDBOX_WEBHOOK_SECRET, `${id}_other`, body)
          : signedHeaders(SANDBOX_WEBHOOK_SECRET, id, body);
  const missing = signature.startsWith('no ') ? signature.slice(3) : undefined;
  return Object.entries(signed).filter(([name]) => name !== missing);
}

async function send(request: FuzzRequest) {
  const headers = [...request.headers, ...(request.signature ? webhookHeaders(request) : [])].flatMap(([name, value]) => [
    name,
    name.toLowerCase() === 'authorization' ? value.replaceAll(KEY, merchant.test_key).replaceAll(KEY_UPPER, merchant.test_key.toUpperCase()) : value,
  ]);
  const res = await client.request({ method: request.method as 'GET', path: request.path, headers, body: request.body });
  const text = await res.body.text();
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) for (const v of [value].flat()) if (v !== undefined) responseHeaders.append(name, v);
  history.record({ method: request.method, path: request.path.split('?')[0], idempotencyKey: idempotencyKeyOf(request), ...answerFields(res.statusCode, responseHeaders, text) });
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

/** Why the answer to a valid create is neither done nor a documented refusal; undefined when it is one of them. */
function undocumentedOutcome(op: Operation, request: FuzzRequest, status: number, text: string): string | undefined {
  if ([200, 201, 202].includes(status)) return undefined;
  if (!(status >= 400 && status < 500) && status !== 503) return `a ${status} is neither done nor a refusal`;
  if (!op.statuses.includes(String(status))) return `the spec documents no ${status} for ${op.name}`;
  let problem: { code?: unknown; errors?: { field: string }[] };
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    return 'the refusal is not JSON';
  }
  const code = problem.code;
  if (typeof code !== 'string' || !(code in ERROR_CATALOGUE)) return `code ${String(code)} is not in the error catalogue`;
  const catalogued = ERROR_CATALOGUE[code as ErrorCode];
  if (catalogued.status !== status) return `code ${code} is catalogued as a ${catalogued.status}`;
  if (code === 'validation-failed' && refusesUnnamedCurrency(request, problem.errors)) return undefined;
  if (FORM_REFUSALS.has(code as ErrorCode)) return `code ${code} refuses the form of a request the spec allows`;
  return undefined;
}

/** The one rule of a create's fields the spec gives in words, not in the schema: a currency it does not name is a 400. */
function refusesUnnamedCurrency(request: FuzzRequest, errors: { field: string }[] | undefined): boolean {
  const currency = (JSON.parse(request.body ?? '{}') as { currency?: unknown }).currency;
  return typeof currency === 'string' && !CURRENCIES.has(currency.toLowerCase()) && errors?.length === 1 && errors[0].field === 'currency';
}

/** The request as it went on the wire (but for the key and the webhook signature, filled in when sent). */
function render(request: FuzzRequest): string {
  const lines = [`${request.method} ${request.path}`, ...request.headers.map(([name, value]) => `${name}: ${JSON.stringify(value)}`)];
  if (request.signature) lines.push(`(webhook-id, webhook-timestamp, webhook-signature: signed ${request.signature})`);
  return [...lines, '', request.body === undefined ? '(no body)' : JSON.stringify(request.body)].join('\n');
}

function failureReport(details: fc.RunDetails<[FuzzRequest]>): string {
  const [request] = details.counterexample ?? [];
  return [
    fc.defaultReportMessage(details) ?? 'The property failed.',
    ...(request ? ['', `The shrunk request (${request.invalid ?? 'valid'}):`, render(request)] : []),
    '',
    'Replay exactly this case:',
    `  FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} npx vitest run test/fuzz/spec-fuzz.test.ts`,
  ].join('\n');
}

it(`${PATH ? 'the replayed request' : `${RUNS} generated requests`} over every operation of v1 and v2: no 5xx, every answer as the spec says, no row from an invalid request, every valid create done or refused as documented`, async () => {
  const started = Date.now();
  const seen = new Map<string, { valid: number; invalid: number }>();
  const property = fc.asyncProperty(fc.oneof(...operations.map(requestFor)), async (request) => {
    const answer = await send(request);
    const op = operationNamed.get(request.operation)!;
    const key = idempotencyKeyOf(request);
    const where = `${request.method} ${request.path} (${request.invalid ?? 'valid'}) → ${answer.status} ${answer.text.slice(0, 300)}`;
    const tally = seen.get(op.name) ?? { valid: 0, invalid: 0 };
    tally[request.invalid ? 'invalid' : 'valid']++;
    seen.set(op.name, tally);
    expect(answer.status, where).toBeLessThan(500);
    expect(validators[op.spec].check(request.method, request.path.split('?')[0], answer.status, answer.headers, answer.text), where).toEqual([]);
    if (request.invalid) {
      expect(answer.status, where).toBeGreaterThanOrEqual(400);
      if (key) expect(await rowsFor(key), where).toBe(0);
      return;
    }
    if (key) validKeys.add(key);
    if (request.signature) validEvents.add(eventIdOf(request));
    if (isCreate(op)) expect(undocumentedOutcome(op, request, answer.status, answer.text), where).toBeUndefined();
  });
  await fc.assert(property, {
    numRuns: RUNS,
    seed: SEED,
    path: PATH,
    endOnFailure: PATH !== undefined,
    // Ours replaces fast-check's report: the same, with the request in full and how to replay it.
    noDefaultPlugins: true,
    plugins: [
      () => ({
        onAllRunsComplete: (details) => {
          if (details.failed) throw new Error(failureReport(details), { cause: details.errorInstance });
        },
      }),
    ],
  });
  const durationMs = Date.now() - started;
  // A replay runs the one case (and the shrinks on its path): what follows judges a whole run.
  if (PATH) return;

  // Every operation was tried both ways, and nothing but the allowed requests left rows.
  expect([...seen.keys()].sort()).toEqual(operations.map((o) => o.name).sort());
  for (const [operation, tally] of seen) expect([operation, tally.valid > 0, tally.invalid > 0]).toEqual([operation, true, true]);
  const stored: { key: string }[] = await stack.db.query(
    `SELECT key FROM idempotency_keys UNION SELECT operation_id FROM payments UNION SELECT operation_id FROM refunds`,
  );
  expect(stored.map((r) => r.key).filter((k) => !validKeys.has(k))).toEqual([]);
  const inbox: { event_id: string }[] = await stack.db.query('SELECT event_id FROM inbox_events');
  expect(inbox.map((r) => r.event_id).filter((id) => !validEvents.has(id))).toEqual([]);

  const verdict = await history.check({ databaseUrl: stack.config.databaseUrl!, sandboxUrl: stack.sandboxUrl, merchantId: merchant.merchant_id });
  const tallies = [...seen.values()];
  await recordFigures('spec-fuzz', {
    requests: verdict.requests,
    runs: RUNS,
    seed: SEED,
    operations: operations.length,
    valid: tallies.reduce((n, t) => n + t.valid, 0),
    invalid: tallies.reduce((n, t) => n + t.invalid, 0),
    byStatus: verdict.byStatus,
    violations: verdict.violations.length,
    byKind: verdict.byKind,
    durationMs,
  });
  expect(verdict.violations).toEqual([]);
}, 600_000);
