import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { type ApiResponse, call, type Stack } from './harness.js';

/** A Standard Webhooks secret, as a provider would issue one. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function newEventId(): string {
  return `evt_sbx_${randomBytes(12).toString('hex')}`;
}

/** The three headers, signed with `secret` by the standardwebhooks package (as the provider would). */
export function signedHeaders(secret: string, id: string, body: string | Buffer, at = new Date()): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

/** Signed over bytes that are not UTF-8, which the standardwebhooks package would decode (and change) before signing. */
export function signedBytes(secret: string, id: string, body: Buffer, at = new Date()): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

export type ProviderObject = Record<string, unknown>;

/** A provider event's body about `object` (a charge or a refund as the sandbox answered it), with our key. */
export function eventBody(id: string, type: string, object: ProviderObject, key: string): string {
  return JSON.stringify({ id, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object: { ...object, idempotency_key: key } } });
}

/** What the sandbox executed under `key`: its charge or refund object. */
export async function sandboxObject(stack: Stack, key: string): Promise<ProviderObject> {
  const record = stack.sandbox.byKey.get(key);
  if (!record) throw new Error(`the sandbox never executed ${key}`);
  return (await record.answer).body;
}

/** The event the provider would send for what it executed under `key`. */
export async function eventFor(stack: Stack, key: string, id = newEventId()): Promise<{ id: string; body: string }> {
  const object = await sandboxObject(stack, key);
  const type = `${key.endsWith(':charge') ? 'charge' : 'refund'}.${String(object.status)}`;
  return { id, body: eventBody(id, type, object, key) };
}

/** POSTs a body as the provider would, signed with `secret` unless headers are given; the answer is checked against the spec. */
export function postEvent(baseUrl: string, body: string, headers: Record<string, string>, provider = 'sandbox'): Promise<ApiResponse> {
  return call(baseUrl, 'POST', `/provider-webhooks/${provider}`, undefined, { raw: body, headers });
}
