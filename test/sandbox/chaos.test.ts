import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answered, type Outcome, type Sandbox, startSandbox, visa } from './sandbox-client.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await sandbox.request('POST', '/__sandbox/reset');
});

// Only a fault-free draw answers 200 (p = 0.3), so a key needs about 3.3 attempts; 60 make a miss ~1e-9.
const MAX_ATTEMPTS = 60;
const CLIENT_TIMEOUT_MS = 1_000;

/** Retries one key, as a client that learns nothing from a failure would, until it gets a 200. */
async function untilOk(key: string, attempts: { count: number }): Promise<Outcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    attempts.count++;
    const outcome = await sandbox.charge(key, visa, CLIENT_TIMEOUT_MS);
    if (!('failed' in outcome) && outcome.status === 200) return outcome;
  }
  throw new Error(`${key} got no 200 in ${MAX_ATTEMPTS} attempts`);
}

describe('chaos', () => {
  it.each(['error', 'hang'])('100 keys retried through errors, timeouts, resets and charge-then-%s: each executed exactly once', async (mode) => {
    await sandbox.configure({
      error_rate: 0.3,
      timeout_rate: 0.2,
      reset_rate: 0.1,
      charge_then_fail_rate: 0.1,
      charge_then_fail_mode: mode,
    });
    const keys = Array.from({ length: 100 }, (_, i) => `k-chaos-${mode}-${i}`);
    const attempts = { count: 0 };
    const answers = await Promise.all(keys.map((key) => untilOk(key, attempts)));
    await sandbox.configure({ error_rate: 0, timeout_rate: 0, reset_rate: 0, charge_then_fail_rate: 0 });

    expect(attempts.count).toBeGreaterThan(200);
    for (const [i, key] of keys.entries()) {
      expect(sandbox.executions(key)).toBe(1);
      expect((await sandbox.lookup('charges', key)).body).toEqual(answered(answers[i]).body);
    }
    expect(sandbox.state.executions.size).toBe(100);
    const { total } = (await sandbox.request('GET', '/__sandbox/requests')).body;
    // Lookups above are provider requests too; a request the client abandoned early may never reach the route.
    expect(total - keys.length).toBeLessThanOrEqual(attempts.count);
    expect(total - keys.length).toBeGreaterThan(200);
  });

  it('concurrent requests with one key under faults and latency share one execution', async () => {
    await sandbox.configure({ latency_ms: 30, jitter_ms: 30, error_rate: 0.3, reset_rate: 0.1, charge_then_fail_rate: 0.2 });
    const keys = Array.from({ length: 10 }, (_, i) => `k-burst-${i}`);
    const attempts = { count: 0 };
    const answers = await Promise.all(keys.flatMap((key) => Array.from({ length: 10 }, () => untilOk(key, attempts))));
    for (const [i, key] of keys.entries()) {
      const ids = new Set(answers.slice(i * 10, i * 10 + 10).map((outcome) => answered(outcome).body.id));
      expect(ids.size).toBe(1);
      expect(sandbox.executions(key)).toBe(1);
    }
  });
});
