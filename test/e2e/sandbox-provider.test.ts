import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox } from '../../src/sandbox-provider/sandbox-server.js';
import { call } from '../support/harness.js';

const sandbox = buildSandbox();
let url: string;
const charge = (key: string, body: Record<string, unknown>) => call(url, 'POST', '/v1/charges', body, { spec: false, headers: { 'idempotency-key': key } });
const executions = async (key: string) => (await call(url, 'GET', `/__sandbox/executions?key=${encodeURIComponent(key)}`, undefined, { spec: false })).body.executions;

beforeAll(async () => {
  url = await sandbox.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => sandbox.app.close());

describe('sandbox provider over HTTP', () => {
  it('executes a key once and replays its answer, counting real executions', async () => {
    const first = await charge('k-replay', { amount: 100, currency: 'usd', payment_method: 'pm_card_visa' });
    const again = await charge('k-replay', { amount: 100, currency: 'usd', payment_method: 'pm_card_visa' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'charge', status: 'succeeded', amount: 100 });
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await executions('k-replay')).toBe(1);
    expect(await executions('never-sent')).toBe(0);
  });

  it('executes once for concurrent requests with one key', async () => {
    await call(url, 'POST', '/__sandbox/config', { latency_ms: 100 }, { spec: false });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => charge('k-concurrent', { amount: 5, currency: 'eur', payment_method: 'pm_card_visa' })),
    );
    await call(url, 'POST', '/__sandbox/config', { latency_ms: 0 }, { spec: false });
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await executions('k-concurrent')).toBe(1);
  });

  it('declines the decline tokens with their codes', async () => {
    const declined = await charge('k-declined', { amount: 5, currency: 'eur', payment_method: 'pm_card_declined' });
    expect(declined.body).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
    const funds = await charge('k-funds', { amount: 5, currency: 'eur', payment_method: 'pm_card_insufficient_funds' });
    expect(funds.body).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
  });

  it('refuses a reused key with a different charge, and a request without a key', async () => {
    await charge('k-reused', { amount: 5, currency: 'eur', payment_method: 'pm_card_visa' });
    const reused = await charge('k-reused', { amount: 6, currency: 'eur', payment_method: 'pm_card_visa' });
    expect(reused.status).toBe(409);
    expect(await executions('k-reused')).toBe(1);
    const keyless = await call(url, 'POST', '/v1/charges', { amount: 5, currency: 'eur', payment_method: 'pm_card_visa' }, { spec: false });
    expect(keyless.status).toBe(400);
  });

  it('adds the configured latency to each charge', async () => {
    await call(url, 'POST', '/__sandbox/config', { latency_ms: 200 }, { spec: false });
    const started = performance.now();
    await charge('k-slow', { amount: 5, currency: 'eur', payment_method: 'pm_card_visa' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    await call(url, 'POST', '/__sandbox/config', { latency_ms: 0 }, { spec: false });
    expect((await call(url, 'POST', '/__sandbox/config', { latency_ms: -1 }, { spec: false })).status).toBe(400);
  });
});
