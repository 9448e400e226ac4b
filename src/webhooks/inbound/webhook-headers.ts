import { ProblemError } from '../../errors/problem.js';
import type { WebhookHeaders } from '../webhook-signature.js';

const ID = /^[\x21-\x7e]{1,255}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;
/** Room for a handful of signatures (a rotation sends two); a longer header is not a sender of ours. */
const MAX_SIGNATURE_HEADER = 2_048;

/** The three Standard Webhooks headers, each exactly once and well-formed, or a 400 naming the one that is not. */
export function webhookHeadersOf(headers: Record<string, string[] | undefined>): WebhookHeaders {
  const id = single(headers, 'webhook-id');
  const timestamp = single(headers, 'webhook-timestamp');
  const signature = single(headers, 'webhook-signature');
  if (!ID.test(id)) throw invalid('webhook-id', 'must be 1 to 255 printable ASCII characters');
  if (!TIMESTAMP.test(timestamp)) throw invalid('webhook-timestamp', 'must be a Unix time in seconds');
  if (signature.length > MAX_SIGNATURE_HEADER) throw invalid('webhook-signature', `must be at most ${MAX_SIGNATURE_HEADER} characters`);
  return { id, timestamp: Number(timestamp), signatures: signature.split(' ').filter((item) => item !== '') };
}

function single(headers: Record<string, string[] | undefined>, name: string): string {
  const values = headers[name] ?? [];
  if (values.length === 0 || values[0] === '') throw invalid(name, 'is required');
  if (values.length > 1) throw invalid(name, 'must be sent once');
  return values[0];
}

function invalid(name: string, message: string): ProblemError {
  return new ProblemError('webhook-headers-invalid', `The ${name} header ${message}.`, [{ field: name, message }]);
}
