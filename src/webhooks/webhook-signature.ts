import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), both ways: the provider's checked
 * here, ours to merchants made here. `webhook-signature` holds one or more space-separated
 * `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, keyed with the secret's
 * base64-decoded part (`whsec_<base64>`).
 */

export interface WebhookHeaders {
  id: string;
  timestamp: number;
  signatures: string[];
}

export type SignatureCheck = 'valid' | 'signature-invalid' | 'timestamp-out-of-tolerance';

/** Fewer bytes than this is a key anyone could search for. */
const MIN_KEY_BYTES = 16;

/** The HMAC key of a `whsec_<base64>` secret; throws, naming `source`, for one that is not. */
export function signingKeyOf(secret: string, source: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length < MIN_KEY_BYTES) {
    throw new Error(`${source} holds a secret that is not whsec_<base64> of at least ${MIN_KEY_BYTES} bytes`);
  }
  return key;
}

function hmacOf(key: Buffer, id: string, timestamp: number, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/** The `webhook-signature` value for `body`: one `v1,` signature per secret, so a receiver holding any one of them (old or new, during a rotation) can verify. */
export function webhookSignature(id: string, timestamp: number, body: string, secrets: readonly string[]): string {
  return secrets.map((secret) => `v1,${hmacOf(signingKeyOf(secret, 'a webhook endpoint'), id, timestamp, body).toString('base64')}`).join(' ');
}

/**
 * Whether `body`, exactly as received, was signed with one of `keys` (two during a rotation) and
 * its timestamp is within `toleranceSeconds` of `nowSeconds`, either way. One HMAC per key however
 * many signatures are sent, each compared in constant time.
 */
export function checkSignature(keys: readonly Buffer[], headers: WebhookHeaders, body: Buffer, nowSeconds: number, toleranceSeconds: number): SignatureCheck {
  const sent = headers.signatures.flatMap((item) => {
    const [version, signature] = item.split(',', 2);
    return version === 'v1' && signature ? [Buffer.from(signature, 'base64')] : [];
  });
  const signed = keys.some((key) => {
    const expected = hmacOf(key, headers.id, headers.timestamp, body);
    return sent.some((signature) => signature.length === expected.length && timingSafeEqual(signature, expected));
  });
  if (!signed) return 'signature-invalid';
  // Checked once the signature holds: the timestamp is then known to be the sender's.
  if (Math.abs(nowSeconds - headers.timestamp) > toleranceSeconds) return 'timestamp-out-of-tolerance';
  return 'valid';
}
