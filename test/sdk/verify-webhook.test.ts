import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { IdempayWebhookError, type WebhookHeaders, verifyWebhook } from '../../sdk/src/index.js';

/**
 * verifyWebhook against signatures made by the `standardwebhooks` package (the reference
 * implementation a merchant might use instead): it accepts theirs, and refuses what they refuse.
 */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const event = { id: 'evt_01JD8X', object: 'event', type: 'payment.succeeded', created_at: '2026-12-02T07:00:00.000Z', livemode: false, data: { object: { id: 'pay_1' } } };
const payload = JSON.stringify(event);

function signed(secret: string, body = payload, { id = 'msg_1', at = new Date() }: { id?: string; at?: Date } = {}): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, at, body) };
}

function refusal(run: () => unknown): IdempayWebhookError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(IdempayWebhookError);
    return error as IdempayWebhookError;
  }
  throw new Error('expected the webhook to be refused');
}

describe('verifyWebhook', () => {
  it('accepts a webhook signed by standardwebhooks and returns the parsed event', () => {
    const secret = newSecret();
    expect(verifyWebhook(payload, signed(secret), secret)).toEqual(event);
  });

  it('accepts any payload, id and time within the window that standardwebhooks signed, and refuses it with another secret', () => {
    fc.assert(
      fc.property(fc.json(), fc.stringMatching(/^msg_[A-Za-z0-9]{1,30}$/), fc.integer({ min: -299, max: 299 }), (body, id, offset) => {
        const secret = newSecret();
        const headers = signed(secret, body, { id, at: new Date(Date.now() + offset * 1000) });
        expect(verifyWebhook(body, headers, secret)).toEqual(JSON.parse(body));
        expect(refusal(() => verifyWebhook(body, headers, newSecret())).reason).toBe('no-valid-signature');
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with standardwebhooks on a header signed with two secrets (a rotation): either secret verifies, in both libraries', () => {
    const [old, current] = [newSecret(), newSecret()];
    const at = new Date();
    const headers = { ...signed(old, payload, { at }) };
    headers['webhook-signature'] = `${signed(current, payload, { at })['webhook-signature']} ${headers['webhook-signature']}`;
    for (const secret of [old, current]) {
      expect(verifyWebhook(payload, headers, secret)).toEqual(event);
      expect(new Webhook(secret).verify(payload, headers)).toEqual(event);
    }
    // A receiver mid-rotation passes both of its secrets.
    expect(verifyWebhook(payload, signed(old), [current, old])).toEqual(event);
    expect(verifyWebhook(payload, signed(current), [current, old])).toEqual(event);
  });

  it('refuses a body changed by one byte, or parsed and re-serialized, like standardwebhooks does', () => {
    const secret = newSecret();
    const headers = signed(secret);
    fc.assert(
      fc.property(fc.nat({ max: payload.length - 1 }), fc.integer({ min: 32, max: 126 }), (at, code) => {
        fc.pre(payload.charCodeAt(at) !== code);
        const changed = payload.slice(0, at) + String.fromCharCode(code) + payload.slice(at + 1);
        expect(refusal(() => verifyWebhook(changed, headers, secret)).reason).toBe('no-valid-signature');
        expect(() => new Webhook(secret).verify(changed, headers)).toThrow();
      }),
    );
    const reserialized = JSON.stringify(JSON.parse(payload), null, 2);
    expect(refusal(() => verifyWebhook(reserialized, headers, secret)).reason).toBe('no-valid-signature');
  });

  it('refuses a changed timestamp or id: both are signed', () => {
    const secret = newSecret();
    const headers = signed(secret);
    const later = { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) };
    expect(refusal(() => verifyWebhook(payload, later, secret)).reason).toBe('no-valid-signature');
    expect(() => new Webhook(secret).verify(payload, later)).toThrow();
    expect(refusal(() => verifyWebhook(payload, { ...headers, 'webhook-id': 'msg_2' }, secret)).reason).toBe('no-valid-signature');
  });

  it('refuses stale and future timestamps outside the window, whatever the signature', () => {
    const secret = newSecret();
    const stale = signed(secret, payload, { at: new Date(Date.now() - 301_000) });
    const future = signed(secret, payload, { at: new Date(Date.now() + 301_000) });
    expect(refusal(() => verifyWebhook(payload, stale, secret)).reason).toBe('timestamp-too-old');
    expect(refusal(() => verifyWebhook(payload, future, secret)).reason).toBe('timestamp-too-new');
    expect(() => new Webhook(secret).verify(payload, stale)).toThrow();
    expect(() => new Webhook(secret).verify(payload, future)).toThrow();
    // A wider window is the receiver's choice.
    expect(verifyWebhook(payload, stale, secret, { toleranceSeconds: 600 })).toEqual(event);
    expect(refusal(() => verifyWebhook(payload, { ...stale, 'webhook-timestamp': '1e9' }, secret)).reason).toBe('bad-timestamp');
  });

  it('refuses missing headers, signatures of another version, and secrets that are not whsec_ base64', () => {
    const secret = newSecret();
    const headers = signed(secret);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const { [name]: _dropped, ...rest } = headers;
      expect(refusal(() => verifyWebhook(payload, rest, secret)).reason).toBe('missing-header');
    }
    const v2 = { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') };
    expect(refusal(() => verifyWebhook(payload, v2, secret)).reason).toBe('no-valid-signature');
    const truncated = { ...headers, 'webhook-signature': headers['webhook-signature'].slice(0, -8) };
    expect(refusal(() => verifyWebhook(payload, truncated, secret)).reason).toBe('no-valid-signature');
    expect(refusal(() => verifyWebhook(payload, headers, 'whsec_not base64!')).reason).toBe('bad-secret');
    expect(refusal(() => verifyWebhook(payload, headers, 'whsec_')).reason).toBe('bad-secret');
    expect(refusal(() => verifyWebhook(payload, headers, [])).reason).toBe('bad-secret');
  });

  it('reads Fetch Headers and Node header objects in any case', () => {
    const secret = newSecret();
    const headers = signed(secret);
    expect(verifyWebhook(payload, new Headers(headers), secret)).toEqual(event);
    const node: WebhookHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(payload, node, secret)).toEqual(event);
  });

  it('refuses a signed body that is not JSON', () => {
    const secret = newSecret();
    expect(refusal(() => verifyWebhook('not json', signed(secret, 'not json'), secret)).reason).toBe('bad-payload');
  });
});
