import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Idempay, IdempayError } from '../../sdk/src/index.js';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { PUBLIC_V4, stubHostResolver } from '../support/host-resolver-stub.js';
import { createMerchant, resetStack, type Stack, startStack } from '../support/harness.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

let stack: Stack;
let proxy: FaultProxy;
let merchant: CreatedMerchant;

const sdk = () => new Idempay({ apiKey: merchant.test_key, baseUrl: proxy.url, retryBaseDelayMs: 10, retryMaxDelayMs: 2000 });
const secretsOf = async (id: string): Promise<string[]> =>
  (await stack.db.query('SELECT secret FROM webhook_endpoint_secrets WHERE endpoint_id = $1 ORDER BY id', [id])).map((r: { secret: string }) => r.secret);

beforeAll(async () => {
  stack = await startStack();
  stubHostResolver(stack, { 'hooks.example.com': [PUBLIC_V4] });
  proxy = await startFaultProxy(stack.baseUrl);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.close();
});
beforeEach(async () => {
  await proxy.reset();
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

describe('idempay.webhookEndpoints', () => {
  it('creates, lists, retrieves, updates, rotates and deletes', async () => {
    const idempay = sdk();
    const created = await idempay.webhookEndpoints.create({ url: 'https://hooks.example.com/in', enabled_events: ['payment.succeeded'] });
    expect(created).toMatchObject({ object: 'webhook_endpoint', status: 'enabled', secret: expect.stringMatching(/^whsec_/) });
    expect(created.lastResponse.status).toBe(201);

    expect((await idempay.webhookEndpoints.list({ limit: 5 })).data.map((e) => e.id)).toEqual([created.id]);
    expect(await idempay.webhookEndpoints.retrieve(created.id)).not.toHaveProperty('secret');
    expect(await idempay.webhookEndpoints.update(created.id, { enabled_events: ['*'], description: 'all' })).toMatchObject({ enabled_events: ['*'], description: 'all' });

    const rotated = await idempay.webhookEndpoints.rotateSecret(created.id);
    expect(rotated.secret).not.toBe(created.secret);
    expect(await secretsOf(created.id)).toEqual([created.secret, rotated.secret]);

    expect(await idempay.webhookEndpoints.del(created.id)).toEqual({ id: created.id, object: 'webhook_endpoint', deleted: true });
    const gone = await idempay.webhookEndpoints.retrieve(created.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(IdempayError);
    expect((gone as IdempayError).status).toBe(404);
  });

  it('retries a rotation whose answer was lost with the same key: one new secret, and the caller gets it', async () => {
    const idempay = sdk();
    const created = await idempay.webhookEndpoints.create({ url: 'https://hooks.example.com/in', enabled_events: ['*'] });
    proxy.script({ kind: 'forward-then-destroy' });
    const rotated = await idempay.webhookEndpoints.rotateSecret(created.id);
    expect(rotated.lastResponse).toMatchObject({ attempts: 2, replayed: true });
    expect(await secretsOf(created.id)).toEqual([created.secret, rotated.secret]);
    const keys = proxy.log.filter((entry) => entry.path.endsWith('/rotate_secret')).map((entry) => entry.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });
});
