import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';

/**
 * The Standard Webhooks `webhook-signature` value: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`
 * for each secret, space-separated, so a receiver holding any one of them (old or new, during a
 * rotation) can verify. A secret is `whsec_` and the base64 of its key.
 */
export function webhookSignature(id: string, timestamp: number, body: string, secrets: string[]): string {
  const signed = `${id}.${timestamp}.${body}`;
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
    })
    .join(' ');
}
