import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ConsoleRefusal } from './console-refusal.js';
import { type ConsoleSession, ConsoleSessions } from './console-sessions.js';
import { sessionCookieOf } from './session-cookie.js';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: ConsoleSession;
  }
}

/** The form a console route received (empty when the body was anything else). */
export function formOf(request: FastifyRequest): URLSearchParams {
  return request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
}

/**
 * Every console page needs a valid session cookie; every POST also needs the CSRF token of that
 * session in its form (SameSite=Strict already keeps the cookie off cross-site requests: this holds
 * when a browser or a same-site page does not).
 */
@Injectable()
export class ConsoleSessionGuard implements CanActivate {
  constructor(private readonly sessions: ConsoleSessions) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const session = this.sessions.verify(sessionCookieOf(request));
    if (!session) throw new ConsoleRefusal('login-required', 'Your console session has ended (or never began): log in again.');
    if (request.method !== 'GET' && request.method !== 'HEAD' && !this.sessions.csrfMatches(session, formOf(request).get('_csrf'))) {
      throw new ConsoleRefusal('csrf-refused', 'This form did not carry the token of your session: reload the page and try again.');
    }
    request.consoleSession = session;
    return true;
  }
}

export const CurrentSession = createParamDecorator((_data: unknown, context: ExecutionContext): ConsoleSession => {
  const session = context.switchToHttp().getRequest<FastifyRequest>().consoleSession;
  if (!session) throw new Error('CurrentSession() used on a route ConsoleSessionGuard did not run on');
  return session;
});
