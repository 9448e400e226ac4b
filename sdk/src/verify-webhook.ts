import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a webhook was refused; `reason` is stable, for logs and metrics. */
export type WebhookRefusal = 'missing-header' | 'bad-timestamp' | 'timestamp-too-old' | 'timestamp-too-new' | 'bad-secret' | 'no-valid-signature' | 'bad-payload';

/** The webhook is not a genuine, fresh one from idempay: answer it with a 4xx and do nothing. */
export class IdempayWebhookError extends Error {
  readonly reason: WebhookRefusal;

  constructor(reason: WebhookRefusal, message: string) {
    super(message);
    this.name = 'IdempayWebhookError';
    this.reason = reason;
  }
}

/** An event as idempay sends it; `data.object` is the payment or refund as it was at that moment. */
export interface WebhookEvent {
  id: string;
  object: 'event';
  type: string;
  created_at: string;
  livemode: boolean;
  data: { object: Record<string, unknown> };
  [field: string]: unknown;
}

/** A Fetch `Headers`, or a plain object like Node's `req.headers` (names in any case). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way. Default 300 (5 minutes). */
  toleranceSeconds?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const entry = Object.entries(headers as Record<string, string | string[] | undefined>).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(entry) ? entry.join(' ') : entry;
}

function keyOf(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (encoded === '' || key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    throw new IdempayWebhookError('bad-secret', 'The secret is not a whsec_ secret (whsec_ and base64).');
  }
  return key;
}

/**
 * Checks a webhook from idempay (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) and returns its event. `payload` must be the raw body exactly as received:
 * parsed and re-serialized JSON no longer matches its signature. Pass every secret you accept (the
 * new and the old one during a rotation); the signature header carries one `v1,<base64>` per secret
 * idempay signs with, and one match is enough. Signatures are compared in constant time.
 * Throws IdempayWebhookError when the webhook must be refused.
 */
export function verifyWebhook<T = WebhookEvent>(
  payload: string,
  headers: WebhookHeaders,
  secret: string | string[],
  { toleranceSeconds = 300 }: VerifyWebhookOptions = {},
): T {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new IdempayWebhookError('missing-header', 'The webhook-id, webhook-timestamp and webhook-signature headers are required.');
  if (!/^\d{1,15}$/.test(timestamp)) throw new IdempayWebhookError('bad-timestamp', 'webhook-timestamp is not a Unix time in seconds.');
  const age = Math.floor(Date.now() / 1000) - Number(timestamp);
  if (age > toleranceSeconds) throw new IdempayWebhookError('timestamp-too-old', `The webhook is ${age} s old, more than ${toleranceSeconds} s: a replay, or a clock far off.`);
  if (age < -toleranceSeconds) throw new IdempayWebhookError('timestamp-too-new', `The webhook is dated ${-age} s ahead, more than ${toleranceSeconds} s.`);

  const keys = (Array.isArray(secret) ? secret : [secret]).map(keyOf);
  if (keys.length === 0) throw new IdempayWebhookError('bad-secret', 'No secret to verify with.');
  const signed = `${id}.${timestamp}.${payload}`;
  const expected = keys.map((key) => createHmac('sha256', key).update(signed).digest());
  const offered = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  // Every pair is compared, equal lengths only (timingSafeEqual needs them), so the time taken does not tell which byte differed.
  let valid = false;
  for (const mac of expected) for (const candidate of offered) if (candidate.length === mac.length && timingSafeEqual(candidate, mac)) valid = true;
  if (!valid) throw new IdempayWebhookError('no-valid-signature', 'No signature matches: a wrong secret, or a body or header changed on the way.');

  try {
    return JSON.parse(payload) as T;
  } catch {
    throw new IdempayWebhookError('bad-payload', 'The payload is signed but is not JSON.');
  }
}
