import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { answered, type Sandbox, startSandbox, visa } from './sandbox-client.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await sandbox.request('POST', '/__sandbox/reset');
});

async function chargeOf(key: string, body: Record<string, unknown> = visa): Promise<string> {
  return answered(await sandbox.charge(key, body)).body.id;
}

describe('lookups by idempotency key', () => {
  it('a charge key is 404 until it executed, then 200 with the body the POST answered', async () => {
    const missing = await sandbox.lookup('charges', 'k-look');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'resource_missing' } });
    const created = answered(await sandbox.charge('k-look', { ...visa, reference: 'pay_1:charge' }));
    const found = await sandbox.lookup('charges', 'k-look');
    expect(found.status).toBe(200);
    expect(found.body).toEqual(created.body);
    expect(found.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a declined charge is found with its decline', async () => {
    await sandbox.charge('k-look-declined', { ...visa, payment_method: 'pm_card_declined' });
    expect((await sandbox.lookup('charges', 'k-look-declined')).body).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
  });

  it('waits for an execution still in progress instead of answering 404', async () => {
    await sandbox.configure({ latency_ms: 300 });
    const pending = sandbox.charge('k-look-pending');
    await vi.waitFor(() => expect(sandbox.state.requests.get('POST /v1/charges')).toBe(1));
    await sandbox.configure({ latency_ms: 0 });
    const started = performance.now();
    const found = await sandbox.lookup('charges', 'k-look-pending');
    expect(performance.now() - started).toBeGreaterThan(150);
    expect(found.status).toBe(200);
    expect(found.body.id).toBe(answered(await pending).body.id);
  });

  it('keeps charges and refunds apart, and needs the key', async () => {
    const charge = await chargeOf('k-look-kind');
    await sandbox.refund('k-look-kind-refund', { charge, amount: 100, currency: 'eur' });
    expect((await sandbox.lookup('refunds', 'k-look-kind')).status).toBe(404);
    expect((await sandbox.lookup('charges', 'k-look-kind-refund')).status).toBe(404);
    expect((await sandbox.request('GET', '/v1/charges')).status).toBe(400);
  });
});

describe('refunds', () => {
  it('refunds partly, then fully, then refuses anything more', async () => {
    const charge = await chargeOf('k-refunded-charge');
    const part = answered(await sandbox.refund('k-refund-1', { charge, amount: 300, currency: 'eur', reference: 'pay_1:refund:1' }));
    expect(part.status).toBe(200);
    expect(part.body).toEqual({
      id: expect.stringMatching(/^re_/),
      object: 'refund',
      charge,
      amount: 300,
      currency: 'eur',
      reference: 'pay_1:refund:1',
      status: 'succeeded',
      failure_code: null,
      failure_message: null,
    });
    expect(answered(await sandbox.refund('k-refund-2', { charge, amount: 700, currency: 'eur' })).status).toBe(200);
    const more = answered(await sandbox.refund('k-refund-3', { charge, amount: 1, currency: 'eur' }));
    expect(more.status).toBe(400);
    expect(more.body).toEqual({ error: { code: 'amount_too_large' } });
    expect(sandbox.state.charges.get(charge)?.refunded).toBe(1000);
    expect(sandbox.executions('k-refund-1') + sandbox.executions('k-refund-2')).toBe(2);
    expect(sandbox.executions('k-refund-3')).toBe(0);
  });

  it('refuses a refund over the charge, and stores nothing for it', async () => {
    const charge = await chargeOf('k-over-charge');
    const over = answered(await sandbox.refund('k-over', { charge, amount: 1001, currency: 'eur' }));
    expect(over.body.error.code).toBe('amount_too_large');
    expect((await sandbox.lookup('refunds', 'k-over')).status).toBe(404);
    expect(answered(await sandbox.refund('k-over', { charge, amount: 1000, currency: 'eur' })).status).toBe(200);
    expect(sandbox.executions('k-over')).toBe(1);
  });

  it('10 concurrent refunds summing past the charge: the accepted ones never exceed it', async () => {
    const charge = await chargeOf('k-charge-raced');
    await sandbox.configure({ latency_ms: 50 });
    const answers = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => answered(await sandbox.refund(`k-race-${i}`, { charge, amount: 300, currency: 'eur' }))),
    );
    const accepted = answers.filter((a) => a.status === 200);
    expect(accepted).toHaveLength(3);
    expect(answers.filter((a) => a.body.error?.code === 'amount_too_large')).toHaveLength(7);
    expect(sandbox.state.charges.get(charge)?.refunded).toBe(900);
    expect([...sandbox.state.executions.keys()].filter((key) => key.startsWith('k-race-'))).toHaveLength(3);
  });

  it('replays a refund key without refunding again, and refuses it for another refund or a charge', async () => {
    const charge = await chargeOf('k-replay-charge');
    const first = answered(await sandbox.refund('k-refund-replay', { charge, amount: 400, currency: 'eur' }));
    const again = answered(await sandbox.refund('k-refund-replay', { charge, amount: 400, currency: 'eur' }));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(answered(await sandbox.refund('k-refund-replay', { charge, amount: 500, currency: 'eur' })).status).toBe(409);
    expect(answered(await sandbox.charge('k-refund-replay')).status).toBe(409);
    expect(sandbox.executions('k-refund-replay')).toBe(1);
    expect(sandbox.state.charges.get(charge)?.refunded).toBe(400);
  });

  it('a faulted refund reserves nothing; a charge-then-fail refund is executed and replayed', async () => {
    const charge = await chargeOf('k-faulted-charge');
    await sandbox.configure({ error_rate: 1 });
    expect(answered(await sandbox.refund('k-faulted', { charge, amount: 1000, currency: 'eur' })).status).toBeGreaterThanOrEqual(500);
    await sandbox.configure({ error_rate: 0, charge_then_fail_rate: 1 });
    expect(answered(await sandbox.refund('k-ctf-refund', { charge, amount: 1000, currency: 'eur' })).status).toBe(500);
    await sandbox.configure({ charge_then_fail_rate: 0 });
    expect(sandbox.executions('k-faulted')).toBe(0);
    expect(sandbox.executions('k-ctf-refund')).toBe(1);
    const found = await sandbox.lookup('refunds', 'k-ctf-refund');
    expect(found.body).toMatchObject({ object: 'refund', amount: 1000, status: 'succeeded' });
    const retry = answered(await sandbox.refund('k-ctf-refund', { charge, amount: 1000, currency: 'eur' }));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(found.body);
    expect(sandbox.executions('k-ctf-refund')).toBe(1);
  });

  it('404 for an unknown charge, 400 for a declined one, a currency mismatch or a bad body', async () => {
    const unknown = answered(await sandbox.refund('k-unknown', { charge: 'ch_nope', amount: 1, currency: 'eur' }));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: 'resource_missing' } });

    const declined = await chargeOf('k-declined-charge', { ...visa, payment_method: 'pm_card_declined' });
    const refused = answered(await sandbox.refund('k-declined', { charge: declined, amount: 1, currency: 'eur' }));
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: { code: 'charge_not_refundable' } });

    const charge = await chargeOf('k-bad-charge');
    expect(answered(await sandbox.refund('k-mismatch', { charge, amount: 1, currency: 'usd' })).body.error.code).toBe('currency_mismatch');
    expect(answered(await sandbox.refund('k-bad', { charge, amount: 0, currency: 'eur' })).body.error.code).toBe('invalid_request');
    expect(answered(await sandbox.send('POST', '/v1/refunds', { body: { charge, amount: 1, currency: 'eur' } })).body.error.code).toBe(
      'idempotency_key_required',
    );
    expect(sandbox.state.executions.size).toBe(2);
  });
});
