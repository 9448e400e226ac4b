import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { EVENT_TYPES } from '../../src/events/event-types.js';
import { MAX_ENDPOINTS_PER_MODE } from '../../src/webhooks/endpoints/webhook-endpoint.js';
import { PUBLIC_V4, stubHostResolver, type TableResolver } from '../support/host-resolver-stub.js';
import { call, createMerchant, HOUR, resetStack, type Stack, startStack } from '../support/harness.js';

const GRACE_MS = 2 * HOUR;

let stack: Stack;
let merchant: CreatedMerchant;
let dns: TableResolver;

beforeAll(async () => {
  stack = await startStack({ webhookSecretGraceMs: GRACE_MS });
  dns = stubHostResolver(stack, {});
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
  Object.assign(dns.table, { 'hooks.example.com': [PUBLIC_V4], 'other.example.com': [PUBLIC_V4], 'internal.example.com': ['10.1.2.3'] });
});

const body = { url: 'https://hooks.example.com/idempay', enabled_events: ['payment.succeeded', 'refund.succeeded'], description: 'Orders' };
const create = (b: unknown = body, idempotencyKey = randomUUID(), key = merchant.test_key) =>
  call(stack.baseUrl, 'POST', '/v1/webhook_endpoints', b, { key, idempotencyKey });
const get = (path: string, key = merchant.test_key) => call(stack.baseUrl, 'GET', path, undefined, { key });
const patch = (id: string, b: unknown, idempotencyKey = randomUUID(), key = merchant.test_key) =>
  call(stack.baseUrl, 'PATCH', `/v1/webhook_endpoints/${id}`, b, { key, idempotencyKey });
const rotate = (id: string, idempotencyKey = randomUUID(), b: unknown = {}, key = merchant.test_key) =>
  call(stack.baseUrl, 'POST', `/v1/webhook_endpoints/${id}/rotate_secret`, b, { key, idempotencyKey });
const del = (id: string, key = merchant.test_key) => call(stack.baseUrl, 'DELETE', `/v1/webhook_endpoints/${id}`, undefined, { key });

interface SecretRow {
  secret: string;
  expires_at: Date | null;
  active: boolean;
}
const secretsOf = (endpointId: string): Promise<SecretRow[]> =>
  stack.db.query(
    `SELECT secret, expires_at, (expires_at IS NULL OR expires_at > now()) AS active FROM webhook_endpoint_secrets WHERE endpoint_id = $1 ORDER BY id`,
    [endpointId],
  );
const endpointRows = async (): Promise<number> => Number((await stack.db.query('SELECT count(*) AS n FROM webhook_endpoints'))[0].n);
const storedKeys = async (): Promise<number> => Number((await stack.db.query('SELECT count(*) AS n FROM idempotency_keys'))[0].n);

describe('POST /v1/webhook_endpoints', () => {
  it('creates an enabled endpoint, shows its whsec_ secret once, and stores that secret for signing', async () => {
    const res = await create();
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^we_[0-9A-Z]{26}$/),
      object: 'webhook_endpoint',
      url: 'https://hooks.example.com/idempay',
      description: 'Orders',
      enabled_events: ['payment.succeeded', 'refund.succeeded'],
      status: 'enabled',
      disabled_reason: null,
      livemode: false,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+={0,2}$/),
    });
    // Standard Webhooks: the secret is the base64 of 24 to 64 random bytes.
    expect(Buffer.from(res.body.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    expect(res.headers.get('location')).toBe(`/v1/webhook_endpoints/${res.body.id}`);
    expect(await secretsOf(res.body.id)).toEqual([{ secret: res.body.secret, expires_at: null, active: true }]);

    // Never again: not by a read, not in a list.
    const { secret, ...withoutSecret } = res.body;
    const read = await get(res.headers.get('location')!);
    expect(read.body).toEqual(withoutSecret);
    const list = await get('/v1/webhook_endpoints');
    expect(list.body.data).toEqual([withoutSecret]);
    expect(read.text + list.text).not.toContain(secret.slice(6));

    // Each endpoint gets its own secret.
    const other = await create({ url: 'https://other.example.com/x', enabled_events: ['*'] });
    expect(other.body).toMatchObject({ description: null, enabled_events: ['*'] });
    expect(other.body.secret).not.toBe(secret);
  });

  it('replays a retry with the same key byte for byte, secret included, and makes nothing more', async () => {
    const key = randomUUID();
    const first = await create(body, key);
    const again = await create(body, key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(await endpointRows()).toBe(1);
    expect(await secretsOf(first.body.id)).toHaveLength(1);

    const different = await create({ ...body, url: 'https://other.example.com/x' }, key);
    expect(different.status).toBe(422);
    expect(different.body).toMatchObject({ code: 'idempotency-key-reused', errors: [{ field: 'url' }] });
  });

  it.each([
    ['an unknown event type', { ...body, enabled_events: ['payment.refunded'] }, 'enabled_events'],
    ['no event type', { ...body, enabled_events: [] }, 'enabled_events'],
    ['a repeated event type', { ...body, enabled_events: ['payment.failed', 'payment.failed'] }, 'enabled_events'],
    ['events as a string', { ...body, enabled_events: 'payment.failed' }, 'enabled_events'],
    ['an unknown field', { ...body, secret: 'whsec_mine' }, 'secret'],
    ['no url', { enabled_events: ['*'] }, 'url'],
    ['an ftp url', { ...body, url: 'ftp://hooks.example.com/x' }, 'url'],
    ['not a url', { ...body, url: 'hooks.example.com' }, 'url'],
    ['a url too long', { ...body, url: `https://hooks.example.com/${'x'.repeat(2048)}` }, 'url'],
    ['a null description', { ...body, description: null }, 'description'],
  ])('refuses %s with 400 validation-failed naming the field, storing nothing', async (_name, bad, field) => {
    const res = await create(bad);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation-failed' });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await endpointRows()).toBe(0);
    expect(await storedKeys()).toBe(0);
  });

  it('accepts every event type the events outbox writes', async () => {
    const res = await create({ ...body, enabled_events: [...EVENT_TYPES] });
    expect(res.status).toBe(201);
    expect(res.body.enabled_events).toEqual([...EVENT_TYPES]);
  });

  it('refuses an unsafe URL with 400 webhook-url-unsafe saying why, storing nothing, not even the key', async () => {
    const key = randomUUID();
    const res = await create({ ...body, url: 'https://internal.example.com/hook' }, key);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'webhook-url-unsafe', errors: [{ field: 'url' }] });
    expect(res.body.detail).toMatch(/internal\.example\.com resolves to 10\.1\.2\.3, which is not a public address: private/);
    expect(await endpointRows()).toBe(0);
    expect(await storedKeys()).toBe(0);
    // So once the name points somewhere public, the very same request with the same key goes through.
    dns.table['internal.example.com'] = [PUBLIC_V4];
    expect((await create({ ...body, url: 'https://internal.example.com/hook' }, key)).status).toBe(201);
  });

  it(`allows ${MAX_ENDPOINTS_PER_MODE} endpoints per merchant and mode, then 400 webhook-endpoint-limit-reached; the other mode has its own`, async () => {
    const made = await Promise.all(Array.from({ length: MAX_ENDPOINTS_PER_MODE + 4 }, () => create()));
    expect(made.map((r) => r.status).sort()).toEqual([...Array(MAX_ENDPOINTS_PER_MODE).fill(201), ...Array(4).fill(400)]);
    expect(made.find((r) => r.status === 400)!.body).toMatchObject({ code: 'webhook-endpoint-limit-reached' });
    expect(await endpointRows()).toBe(MAX_ENDPOINTS_PER_MODE);
    expect((await create(body, randomUUID(), merchant.live_key)).status).toBe(201);
  });
});

describe('GET /v1/webhook_endpoints', () => {
  it('lists newest first, page by page, and only the caller\'s merchant and mode', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create()).body.id);
    await create(body, randomUUID(), merchant.live_key);
    const other = await createMerchant(stack, 'Other');
    await create(body, randomUUID(), other.test_key);

    const first = await get('/v1/webhook_endpoints?limit=2');
    expect(first.body).toMatchObject({ object: 'list', url: '/v1/webhook_endpoints', has_more: true });
    expect(first.body.data.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[1]]);
    const second = await get(`/v1/webhook_endpoints?limit=2&starting_after=${ids[1]}`);
    expect(second.body).toMatchObject({ has_more: false });
    expect(second.body.data.map((e: { id: string }) => e.id)).toEqual([ids[0]]);

    const live = await get('/v1/webhook_endpoints', merchant.live_key);
    expect(live.body.data).toHaveLength(1);
    expect(live.body.data[0].livemode).toBe(true);

    expect((await get('/v1/webhook_endpoints?limit=0')).status).toBe(400);
    expect((await get('/v1/webhook_endpoints?starting_after=pay_1')).status).toBe(400);
  });
});

describe('another merchant\'s or the other mode\'s endpoint', () => {
  it('is 404 to read, update, rotate and delete, and stays as it was', async () => {
    const mine = await create();
    const other = await createMerchant(stack, 'Other');
    for (const key of [other.test_key, merchant.live_key]) {
      expect((await get(`/v1/webhook_endpoints/${mine.body.id}`, key)).status).toBe(404);
      expect((await patch(mine.body.id, { disabled: true }, randomUUID(), key)).status).toBe(404);
      expect((await rotate(mine.body.id, randomUUID(), {}, key)).status).toBe(404);
      expect((await del(mine.body.id, key)).status).toBe(404);
    }
    const { secret: _secret, ...unchanged } = mine.body;
    expect((await get(`/v1/webhook_endpoints/${mine.body.id}`)).body).toEqual(unchanged);
    expect(await secretsOf(mine.body.id)).toHaveLength(1);
  });

  it('is 404 for ids that cannot exist', async () => {
    for (const id of ['we_nope', `we_${'0'.repeat(26)}`, 'pay_x', '%00']) {
      expect((await get(`/v1/webhook_endpoints/${id}`)).status).toBe(404);
      expect((await del(id)).status).toBe(404);
    }
  });
});

describe('PATCH /v1/webhook_endpoints/{id}', () => {
  it('changes url, events and description; null clears the description', async () => {
    const { body: made } = await create();
    const res = await patch(made.id, { url: 'https://other.example.com/v2', enabled_events: ['*'], description: 'v2' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: made.id, url: 'https://other.example.com/v2', enabled_events: ['*'], description: 'v2', status: 'enabled' });
    expect(res.body.secret).toBeUndefined();
    expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(made.updated_at));
    expect((await patch(made.id, { description: null })).body.description).toBeNull();
    expect((await get(`/v1/webhook_endpoints/${made.id}`)).body).toMatchObject({ url: 'https://other.example.com/v2', description: null });
  });

  it('disables with a reason, and re-enabling clears the reason and the failure streak', async () => {
    const { body: made } = await create();
    const off = await patch(made.id, { disabled: true });
    expect(off.body).toMatchObject({ status: 'disabled', disabled_reason: 'disabled_by_merchant' });

    // As the delivery worker leaves an endpoint it gave up on.
    await stack.db.query(`UPDATE webhook_endpoints SET disabled_reason = 'gone', failing_since = now() - interval '4 days' WHERE id = $1`, [made.id]);
    expect((await patch(made.id, { disabled: true })).body.disabled_reason).toBe('gone');
    const on = await patch(made.id, { disabled: false });
    expect(on.body).toMatchObject({ status: 'enabled', disabled_reason: null });
    const [row] = await stack.db.query('SELECT failing_since FROM webhook_endpoints WHERE id = $1', [made.id]);
    expect(row.failing_since).toBeNull();
  });

  it('checks a new URL like a creation: refused, nothing changes and nothing is stored', async () => {
    const { body: made } = await create();
    const keysBefore = await storedKeys();
    const res = await patch(made.id, { url: 'https://127.0.0.1/x' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'webhook-url-unsafe' });
    expect(res.body.detail).toMatch(/loopback/);
    expect((await get(`/v1/webhook_endpoints/${made.id}`)).body.url).toBe(body.url);
    expect(await storedKeys()).toBe(keysBefore);
  });

  it.each([
    ['an empty body', {}],
    ['an unknown field', { secret: 'x' }],
    ['a non-boolean disabled', { disabled: 'yes' }],
    ['an unknown event', { enabled_events: ['*', 'nope'] }],
    ['a null url', { url: null }],
  ])('refuses %s with 400', async (_name, bad) => {
    const { body: made } = await create();
    const res = await patch(made.id, bad);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
  });

  it('replays a retry with the same key', async () => {
    const { body: made } = await create();
    const key = randomUUID();
    const first = await patch(made.id, { description: 'once' }, key);
    const again = await patch(made.id, { description: 'once' }, key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
  });
});

describe('DELETE /v1/webhook_endpoints/{id}', () => {
  it('deletes the endpoint and its secrets; a second delete is 404', async () => {
    const { body: made } = await create();
    await rotate(made.id);
    const res = await del(made.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: made.id, object: 'webhook_endpoint', deleted: true });
    expect((await get(`/v1/webhook_endpoints/${made.id}`)).status).toBe(404);
    expect(await secretsOf(made.id)).toEqual([]);
    expect((await del(made.id)).status).toBe(404);
  });
});

describe('POST /v1/webhook_endpoints/{id}/rotate_secret', () => {
  it('answers a new secret; the old one signs beside it until now + the grace period', async () => {
    const { body: made } = await create();
    const before = Date.now();
    const res = await rotate(made.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: made.id, object: 'webhook_endpoint', secret: expect.stringMatching(/^whsec_/) });
    expect(res.body.secret).not.toBe(made.secret);

    const secrets = await secretsOf(made.id);
    expect(secrets.map((s) => [s.secret, s.active])).toEqual([[made.secret, true], [res.body.secret, true]]);
    expect(secrets[1].expires_at).toBeNull();
    const expiresAt = secrets[0].expires_at!.getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + GRACE_MS - 5_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + GRACE_MS + 5_000);

    expect((await get(`/v1/webhook_endpoints/${made.id}`)).text).not.toContain(res.body.secret.slice(6));
  });

  it('replays the same key byte for byte, with the same secret and no third secret; a new key rotates again', async () => {
    const { body: made } = await create();
    const key = randomUUID();
    const first = await rotate(made.id, key);
    const again = await rotate(made.id, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(await secretsOf(made.id)).toHaveLength(2);

    const next = await rotate(made.id);
    expect(next.body.secret).not.toBe(first.body.secret);
    const secrets = await secretsOf(made.id);
    // The first secret keeps the expiry its own rotation gave it; the second starts its grace now.
    expect(secrets.map((s) => s.secret)).toEqual([made.secret, first.body.secret, next.body.secret]);
    expect(secrets.every((s) => s.active)).toBe(true);
  });

  it('drops secrets whose grace has ended at the next rotation', async () => {
    const { body: made } = await create();
    await rotate(made.id);
    await stack.db.query(`UPDATE webhook_endpoint_secrets SET expires_at = now() - interval '1 second' WHERE secret = $1`, [made.secret]);
    const next = await rotate(made.id);
    expect((await secretsOf(made.id)).map((s) => s.secret)).not.toContain(made.secret);
    expect((await secretsOf(made.id)).at(-1)!.secret).toBe(next.body.secret);
  });

  it('takes no body at all, or {}; any field is a 400 that stores nothing', async () => {
    const { body: made } = await create();
    const bare = await call(stack.baseUrl, 'POST', `/v1/webhook_endpoints/${made.id}/rotate_secret`, undefined, {
      key: merchant.test_key,
      idempotencyKey: randomUUID(),
    });
    expect(bare.status).toBe(200);
    const keysBefore = await storedKeys();
    const bad = await rotate(made.id, randomUUID(), { expires_in: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation-failed', errors: [{ field: 'expires_in' }] });
    expect(await storedKeys()).toBe(keysBefore);
    expect((await rotate(made.id, randomUUID(), [])).status).toBe(400);
    expect(await secretsOf(made.id)).toHaveLength(2);
  });

  it('requires an Idempotency-Key', async () => {
    const { body: made } = await create();
    const res = await call(stack.baseUrl, 'POST', `/v1/webhook_endpoints/${made.id}/rotate_secret`, {}, { key: merchant.test_key });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('idempotency-key-missing');
  });
});
