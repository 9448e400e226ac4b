import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'idempay_console';

/** The session cookie's value from the Cookie header, if sent once (two of them is no session). */
export function sessionCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  let found: string | undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== SESSION_COOKIE) continue;
    if (found !== undefined) return undefined;
    found = pair.slice(at + 1).trim();
  }
  return found;
}

/**
 * Secure when the request came over https, to this process or to the proxy in front of it (a
 * forged X-Forwarded-Proto can only make the browser withhold the cookie over plain http).
 */
function cameOverHttps(request: FastifyRequest): boolean {
  const forwarded = request.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return request.protocol === 'https' || first === 'https';
}

/** Set-Cookie for a session (a value and its lifetime) or, with no value, one that removes it. */
export function sessionCookie(request: FastifyRequest, value: string | undefined, maxAgeMs = 0): string {
  const parts = [`${SESSION_COOKIE}=${value ?? ''}`, 'Path=/console', 'HttpOnly', 'SameSite=Strict', `Max-Age=${value === undefined ? 0 : Math.floor(maxAgeMs / 1000)}`];
  if (cameOverHttps(request)) parts.push('Secure');
  return parts.join('; ');
}
