import { ProblemError } from '../errors/problem.js';

const PRINTABLE_ASCII = /^[\x20-\x7E]{1,255}$/;

export function parseIdempotencyKey(header: string | string[] | undefined): string {
  if (header === undefined || header === '') {
    throw new ProblemError('idempotency-key-missing', 'Send an Idempotency-Key header (for example a UUID v4) with every POST and PATCH.');
  }
  if (Array.isArray(header)) {
    throw new ProblemError('idempotency-key-invalid', 'Send exactly one Idempotency-Key header.');
  }
  if (!PRINTABLE_ASCII.test(header)) {
    throw new ProblemError('idempotency-key-invalid', 'The Idempotency-Key must be 1 to 255 printable ASCII characters.');
  }
  return header;
}
