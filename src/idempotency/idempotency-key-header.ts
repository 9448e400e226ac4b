import { ProblemError } from '../errors/problem.js';

const PRINTABLE_ASCII = /^[\x20-\x7E]{1,255}$/;

/**
 * `headers` is every Idempotency-Key header as sent (`headersDistinct`): Node joins repeated ones
 * into "k, k", a valid-looking key that would be a new request.
 */
export function parseIdempotencyKey(headers: string[] | undefined): string {
  if (headers === undefined || (headers.length === 1 && headers[0] === '')) {
    throw new ProblemError('idempotency-key-missing', 'Send an Idempotency-Key header (for example a UUID v4) with every POST and PATCH.');
  }
  if (headers.length > 1) {
    throw new ProblemError('idempotency-key-invalid', 'Send exactly one Idempotency-Key header.');
  }
  const [header] = headers;
  if (!PRINTABLE_ASCII.test(header)) {
    throw new ProblemError('idempotency-key-invalid', 'The Idempotency-Key must be 1 to 255 printable ASCII characters.');
  }
  return header;
}
