/** Socket errors of a connection to Postgres that could not be made or was lost. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * SQLSTATEs that say the database, not the request, is the trouble, and that the same request may
 * succeed in a moment: the server is shutting down or starting (57P0x), out of connections (53300),
 * a statement, lock or idle-transaction timeout fired (57014, 55P03, 25P03), or a transaction lost a
 * deadlock or serialisation race (40P01, 40001). Class 08 is any connection exception.
 */
const TRANSIENT_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '55P03', '25P03', '40P01', '40001']);

/** What node-postgres and its pool throw without a code when the connection is gone or never came. */
const CONNECTION_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Connection ended/i;

/**
 * Whether `error` (or what it wraps: TypeORM's QueryFailedError keeps pg's error as `driverError`)
 * means Postgres is unreachable or briefly unable to serve: answered as 503 with Retry-After, never
 * as a 500, since the client's retry with the same key may well succeed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && typeof cause === 'object' && depth < 4; depth++) {
    const { code, message, driverError } = cause as { code?: unknown; message?: unknown; driverError?: unknown };
    if (typeof code === 'string' && (CONNECTION_ERRORS.has(code) || TRANSIENT_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
    cause = driverError ?? (cause as { cause?: unknown }).cause;
  }
  return false;
}
