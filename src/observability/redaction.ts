/**
 * What never reaches a log line: Authorization headers, API keys, webhook secrets and signatures,
 * payment-method and card details. Two layers: fields of these names are replaced wherever code
 * logs them as objects, and every finished line is scrubbed of anything shaped like one of these
 * secrets, so a key pasted into a URL path or an error message is caught as well.
 */
export const REDACTED = '[redacted]';

/**
 * No leading wildcards: pino would run every top-level value of every line through the redactor
 * for those, the request line's included.
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'headers["webhook-signature"]',
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'payment_method',
  'paymentMethod',
  'card',
  'body.payment_method',
  'body.card',
  'secret',
  'secrets',
  'signingSecret',
  // A database error carries its statement's parameters: card tokens, hashes, whatever was written.
  'err.parameters',
];

/**
 * API keys (`sk_test_…`, `sk_live_…`), Standard Webhooks secrets (`whsec_…`) and signatures
 * (`v1,` and a base64 HMAC-SHA256), payment methods (`pm_…`).
 */
const SECRETS = /(sk_(?:test|live)_|whsec_|\bpm_)[A-Za-z0-9_+/=-]+|\bv1,[A-Za-z0-9+/]{43}=/g;

export function scrubSecrets(line: string): string {
  return line.replace(SECRETS, (_match, prefix: string | undefined) => `${prefix ?? 'v1,'}${REDACTED}`);
}
