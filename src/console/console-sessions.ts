import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** A logged-in operator: the session's random id (what its CSRF token is bound to) and when it ends. */
export interface ConsoleSession {
  id: string;
  expiresAt: number;
  csrf: string;
}

const SESSION_FORMAT = /^([A-Za-z0-9_-]{22})\.([0-9]{13})\.([A-Za-z0-9_-]{43})$/;

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  // Hashed first, so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Stateless console sessions: the cookie holds a random id and an expiry, signed with a key derived
 * from the admin token, so any instance with the same token accepts it and none stores anything.
 * Changing the admin token ends every session. The CSRF token is a MAC of the session id, so it
 * is bound to the session and needs no storage either.
 */
@Injectable()
export class ConsoleSessions {
  private readonly token: string;
  private readonly key: Buffer;

  constructor(private readonly config: AppConfig) {
    if (!config.adminToken) throw new Error('the console needs ADMIN_TOKEN');
    this.token = config.adminToken;
    this.key = createHmac('sha256', config.adminToken).update('idempay console session key v1').digest();
  }

  get ttlMs(): number {
    return this.config.consoleSessionTtlMs;
  }

  tokenMatches(candidate: string): boolean {
    return sameText(candidate, this.token);
  }

  /** A new session's cookie value. */
  issue(now = Date.now()): string {
    const id = randomBytes(16).toString('base64url');
    const expiresAt = now + this.config.consoleSessionTtlMs;
    return `${id}.${expiresAt}.${mac(this.key, `session.${id}.${expiresAt}`)}`;
  }

  /** The session a cookie value stands for, or undefined when it is malformed, forged or expired. */
  verify(value: string | undefined, now = Date.now()): ConsoleSession | undefined {
    const match = value === undefined ? null : SESSION_FORMAT.exec(value);
    if (!match) return undefined;
    const [, id, expiry, signature] = match;
    if (!sameText(signature, mac(this.key, `session.${id}.${expiry}`))) return undefined;
    const expiresAt = Number(expiry);
    // Never longer than a session lasts now, should the TTL have been shortened since it was issued.
    if (expiresAt <= now || expiresAt > now + this.config.consoleSessionTtlMs) return undefined;
    return { id, expiresAt, csrf: mac(this.key, `csrf.${id}`) };
  }

  csrfMatches(session: ConsoleSession, candidate: string | null | undefined): boolean {
    return typeof candidate === 'string' && sameText(candidate, session.csrf);
  }
}
