import { afterAll, describe, expect, it } from 'vitest';
import { faultsFromEnv } from '../../src/sandbox-provider/sandbox-server.js';
import { type Sandbox, startSandbox } from './sandbox-client.js';

describe('faultsFromEnv', () => {
  it('reads every knob from its SANDBOX_* variable', () => {
    expect(
      faultsFromEnv({
        SANDBOX_LATENCY_MS: '20',
        SANDBOX_JITTER_MS: '5',
        SANDBOX_ERROR_RATE: '0.1',
        SANDBOX_ERROR_STATUSES: '502, 504',
        SANDBOX_TIMEOUT_RATE: '0.05',
        SANDBOX_RESET_RATE: '0.05',
        SANDBOX_RATE_LIMIT_RATE: '0.2',
        SANDBOX_RETRY_AFTER_S: '3',
        SANDBOX_CHARGE_THEN_FAIL_RATE: '0.1',
        SANDBOX_CHARGE_THEN_FAIL_MODE: 'hang',
        SANDBOX_SEED: '4294967295',
      }),
    ).toEqual({
      latencyMs: 20,
      jitterMs: 5,
      errorRate: 0.1,
      errorStatuses: [502, 504],
      timeoutRate: 0.05,
      resetRate: 0.05,
      rateLimitRate: 0.2,
      retryAfterS: 3,
      chargeThenFailRate: 0.1,
      chargeThenFailMode: 'hang',
      seed: 4294967295,
    });
  });

  it('leaves unset and empty variables to the defaults', () => {
    expect(faultsFromEnv({ SANDBOX_ERROR_RATE: '', PATH: '/usr/bin' })).toEqual({});
  });

  it.each([
    [{ SANDBOX_LATENCY_MS: 'slow' }, /^SANDBOX_LATENCY_MS must be an integer from 0 to 120000, got "slow"$/],
    [{ SANDBOX_JITTER_MS: ' ' }, /^SANDBOX_JITTER_MS must be/],
    [{ SANDBOX_ERROR_RATE: '1.5' }, /^SANDBOX_ERROR_RATE must be a number from 0 to 1/],
    [{ SANDBOX_ERROR_STATUSES: '500,' }, /^SANDBOX_ERROR_STATUSES must be/],
    [{ SANDBOX_CHARGE_THEN_FAIL_MODE: 'crash' }, /^SANDBOX_CHARGE_THEN_FAIL_MODE must be "error" or "hang"/],
    [{ SANDBOX_SEED: '-3' }, /^SANDBOX_SEED must be/],
    [{ SANDBOX_TIMEOUT_RATE: '0.6', SANDBOX_RESET_RATE: '0.6' }, /must not exceed 1/],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => faultsFromEnv(env)).toThrow(message);
  });
});

describe('a sandbox started with knobs from the environment', () => {
  let sandbox: Sandbox;
  afterAll(() => sandbox.close());

  it('applies them from its first request', async () => {
    sandbox = await startSandbox({ faults: faultsFromEnv({ SANDBOX_RATE_LIMIT_RATE: '1', SANDBOX_RETRY_AFTER_S: '4', SANDBOX_LATENCY_MS: '10' }) });
    expect((await sandbox.request('GET', '/__sandbox/config')).body).toMatchObject({ rate_limit_rate: 1, retry_after_s: 4, latency_ms: 10 });
    const limited = await sandbox.request('POST', '/v1/charges', { body: { amount: 1, currency: 'eur', payment_method: 'pm_card_visa' }, idempotencyKey: 'k-env' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('4');
  });
});
