import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { answered, type Outcome, type Sandbox, startSandbox, visa } from './sandbox-client.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await sandbox.request('POST', '/__sandbox/reset');
});

const statusOf = (outcome: Outcome) => ('failed' in outcome ? outcome.failed : outcome.status);

describe('each fault knob', () => {
  it('error_rate answers one of error_statuses without executing; the same key later executes once', async () => {
    await sandbox.configure({ error_rate: 1 });
    const failed = answered(await sandbox.charge('k-error'));
    expect([500, 502, 503]).toContain(failed.status);
    await sandbox.configure({ error_statuses: [502] });
    expect(answered(await sandbox.charge('k-error')).status).toBe(502);
    expect(sandbox.executions('k-error')).toBe(0);

    await sandbox.configure({ error_rate: 0 });
    expect((await sandbox.lookup('charges', 'k-error')).status).toBe(404);
    const ok = answered(await sandbox.charge('k-error'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('idempotent-replayed')).toBeNull();
    expect(sandbox.executions('k-error')).toBe(1);
  });

  it('timeout_rate holds the request until the client gives up, without executing', async () => {
    await sandbox.configure({ timeout_rate: 1 });
    const started = performance.now();
    expect(await sandbox.charge('k-timeout', visa, 200)).toEqual({ failed: 'timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(sandbox.executions('k-timeout')).toBe(0);
    await sandbox.configure({ timeout_rate: 0 });
    expect(answered(await sandbox.charge('k-timeout')).status).toBe(200);
    expect(sandbox.executions('k-timeout')).toBe(1);
  });

  it('reset_rate cuts the connection without an answer, without executing', async () => {
    await sandbox.configure({ reset_rate: 1 });
    expect(await sandbox.charge('k-reset')).toEqual({ failed: 'network' });
    expect(sandbox.executions('k-reset')).toBe(0);
    await sandbox.configure({ reset_rate: 0 });
    expect(answered(await sandbox.charge('k-reset')).status).toBe(200);
    expect(sandbox.executions('k-reset')).toBe(1);
  });

  it('rate_limit_rate answers 429 with Retry-After, without executing', async () => {
    await sandbox.configure({ rate_limit_rate: 1 });
    const limited = answered(await sandbox.charge('k-429'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    await sandbox.configure({ retry_after_s: 7 });
    expect(answered(await sandbox.charge('k-429')).headers.get('retry-after')).toBe('7');
    expect(sandbox.executions('k-429')).toBe(0);
  });

  it("charge_then_fail in 'error' mode executes, answers 500; the lookup finds the charge and a retry replays it", async () => {
    await sandbox.configure({ charge_then_fail_rate: 1 });
    expect(answered(await sandbox.charge('k-ctf-error')).status).toBe(500);
    expect(sandbox.executions('k-ctf-error')).toBe(1);
    await sandbox.configure({ charge_then_fail_rate: 0 });
    const found = await sandbox.lookup('charges', 'k-ctf-error');
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ object: 'charge', status: 'succeeded', amount: 1000 });

    const retry = answered(await sandbox.charge('k-ctf-error'));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(found.body);
    expect(sandbox.executions('k-ctf-error')).toBe(1);
  });

  it("charge_then_fail in 'hang' mode executes, never answers; the lookup finds the charge and a retry replays it", async () => {
    await sandbox.configure({ charge_then_fail_rate: 1, charge_then_fail_mode: 'hang' });
    expect(await sandbox.charge('k-ctf-hang', visa, 200)).toEqual({ failed: 'timeout' });
    expect(sandbox.executions('k-ctf-hang')).toBe(1);
    await sandbox.configure({ charge_then_fail_rate: 0 });
    const found = await sandbox.lookup('charges', 'k-ctf-hang');
    const retry = answered(await sandbox.charge('k-ctf-hang'));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(found.body);
    expect(sandbox.executions('k-ctf-hang')).toBe(1);
  });

  it('faults hit replays too, and never execute an executed key again', async () => {
    const first = answered(await sandbox.charge('k-replay-faults'));
    await sandbox.configure({ error_rate: 1 });
    expect(answered(await sandbox.charge('k-replay-faults')).status).toBeGreaterThanOrEqual(500);
    await sandbox.configure({ error_rate: 0, reset_rate: 1 });
    expect(await sandbox.charge('k-replay-faults')).toEqual({ failed: 'network' });
    await sandbox.configure({ reset_rate: 0, timeout_rate: 1 });
    expect(await sandbox.charge('k-replay-faults', visa, 100)).toEqual({ failed: 'timeout' });
    await sandbox.configure({ timeout_rate: 0, charge_then_fail_rate: 1 });
    expect(answered(await sandbox.charge('k-replay-faults')).status).toBe(500);
    await sandbox.configure({ charge_then_fail_rate: 0 });
    const replay = answered(await sandbox.charge('k-replay-faults'));
    expect(replay.body).toEqual(first.body);
    expect(sandbox.executions('k-replay-faults')).toBe(1);
  });

  it('faults hit lookups too', async () => {
    await sandbox.charge('k-lookup-faults');
    await sandbox.configure({ rate_limit_rate: 1 });
    const limited = answered(await sandbox.send('GET', '/v1/charges?idempotency_key=k-lookup-faults'));
    expect(limited.status).toBe(429);
  });

  it('latency_ms delays every provider request and jitter_ms adds a seeded 0…jitter on top', async () => {
    await sandbox.configure({ latency_ms: 50, jitter_ms: 200 });
    const elapsed: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      await sandbox.charge(`k-jitter-${i}`);
      elapsed.push(performance.now() - started);
    }
    for (const ms of elapsed) {
      expect(ms).toBeGreaterThanOrEqual(45);
      expect(ms).toBeLessThan(250 + 150);
    }
    // Six draws from 0…200 under the default seed are spread well beyond timer noise.
    expect(Math.max(...elapsed) - Math.min(...elapsed)).toBeGreaterThan(30);
  });

  it('the same seed gives the same sequence of faults, another seed another', async () => {
    const knobs = { error_rate: 0.3, rate_limit_rate: 0.2, charge_then_fail_rate: 0.2 };
    const run = async (seed: number) => {
      await sandbox.request('POST', '/__sandbox/reset');
      await sandbox.configure({ ...knobs, seed });
      const statuses = [];
      for (let i = 0; i < 40; i++) statuses.push(statusOf(await sandbox.charge(`k-seed-${i}`)));
      return statuses;
    };
    const first = await run(42);
    expect(new Set(first)).toEqual(new Set([200, 429, 500, 502, 503]));
    expect(await run(42)).toEqual(first);
    expect(await run(43)).not.toEqual(first);
  });

  it('closing the app cuts held connections instead of waiting for them', async () => {
    const other = await startSandbox({ faults: { timeoutRate: 1 } });
    // Giving up leaves undici with a spare connection that never sends a request: close must not wait for it either.
    expect(await other.charge('k-abandoned', visa, 100)).toEqual({ failed: 'timeout' });
    const held = other.charge('k-held', visa, 10_000);
    await vi.waitFor(() => expect(other.state.requests.get('POST /v1/charges')).toBe(2));
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await held).toEqual({ failed: 'network' });
    expect(other.state.executions.size).toBe(0);
  });
});

describe('the config and reset routes', () => {
  it('applies partial updates and reports every knob', async () => {
    await sandbox.configure({ error_rate: 0.25 });
    const after = await sandbox.configure({ jitter_ms: 10 });
    expect(after.body).toEqual({
      latency_ms: 0,
      jitter_ms: 10,
      error_rate: 0.25,
      error_statuses: [500, 502, 503],
      timeout_rate: 0,
      reset_rate: 0,
      rate_limit_rate: 0,
      retry_after_s: 1,
      charge_then_fail_rate: 0,
      charge_then_fail_mode: 'error',
      seed: 1,
      webhook_url: null,
      webhook_signing_secret_set: false,
      webhooks_enabled: true,
      webhook_delay_ms: 0,
      webhook_duplicate_rate: 0,
      webhook_reorder_rate: 0,
      webhook_reorder_max_ms: 200,
      webhook_before_response: false,
      webhook_retries: 3,
      webhook_retry_interval_ms: 1000,
      webhook_timeout_ms: 5000,
    });
    expect((await sandbox.request('GET', '/__sandbox/config')).body).toEqual(after.body);
  });

  it.each([
    [{ error_rate: 1.5 }, 'error_rate'],
    [{ timeout_rate: '0.5' }, 'timeout_rate'],
    [{ latency_ms: -1 }, 'latency_ms'],
    [{ jitter_ms: 2.5 }, 'jitter_ms'],
    [{ error_statuses: [] }, 'error_statuses'],
    [{ error_statuses: [200] }, 'error_statuses'],
    [{ charge_then_fail_mode: 'explode' }, 'charge_then_fail_mode'],
    [{ seed: -1 }, 'seed'],
    [{ retry_after_s: null }, 'retry_after_s'],
    [{ error_rate: 0.6, reset_rate: 0.5 }, 'must not exceed 1'],
    [{ errorRate: 0.5 }, 'unknown field errorRate'],
  ])('refuses %j with a 400 naming it, and changes nothing', async (knobs, named) => {
    await sandbox.configure({ latency_ms: 5 });
    const refused = await sandbox.configure({ latency_ms: 9, ...knobs });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain(named);
    expect((await sandbox.request('GET', '/__sandbox/config')).body.latency_ms).toBe(5);
  });

  it('reset puts the knobs back to no faults and no latency, and forgets every key', async () => {
    await sandbox.charge('k-before-reset');
    await sandbox.configure({ latency_ms: 300, error_rate: 0.5, seed: 9 });
    await sandbox.request('POST', '/__sandbox/reset');
    expect((await sandbox.request('GET', '/__sandbox/config')).body).toMatchObject({ latency_ms: 0, error_rate: 0, seed: 1 });
    expect(sandbox.executions('k-before-reset')).toBe(0);
    expect((await sandbox.lookup('charges', 'k-before-reset')).status).toBe(404);
  });
});

describe('request counting', () => {
  it('counts every request that reached a provider route, faulted and refused ones included', async () => {
    const zero = await sandbox.request('GET', '/__sandbox/requests');
    expect(zero.body).toEqual({
      total: 0,
      by_route: { 'POST /v1/charges': 0, 'GET /v1/charges': 0, 'POST /v1/refunds': 0, 'GET /v1/refunds': 0 },
    });
    await sandbox.charge('k-count');
    await sandbox.send('POST', '/v1/charges', { body: visa });
    await sandbox.lookup('charges', 'k-count');
    await sandbox.configure({ reset_rate: 1 });
    await sandbox.refund('k-count-refund', { charge: 'ch_unknown', amount: 1, currency: 'eur' });
    await sandbox.lookup('refunds', 'k-count-refund').catch(() => undefined);
    const counted = await sandbox.request('GET', '/__sandbox/requests');
    expect(counted.body).toEqual({
      total: 5,
      by_route: { 'POST /v1/charges': 2, 'GET /v1/charges': 1, 'POST /v1/refunds': 1, 'GET /v1/refunds': 1 },
    });
    await sandbox.request('POST', '/__sandbox/reset');
    expect((await sandbox.request('GET', '/__sandbox/requests')).body.total).toBe(0);
  });
});
