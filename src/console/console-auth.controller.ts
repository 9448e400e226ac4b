import { Controller, Get, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { ConsoleErrorFilter } from './console-error.filter.js';
import { ConsoleLoginAttempts } from './console-login-attempts.js';
import { redirect, sendPage } from './console-reply.js';
import { ConsoleSessionGuard, formOf } from './console-session.guard.js';
import { ConsoleSessions } from './console-sessions.js';
import { FORM_BODY } from './form-body.js';
import { sessionCookie, sessionCookieOf } from './session-cookie.js';
import { loginPage } from './views/login.page.js';

/** Logging in with the admin token (a signed session cookie follows) and out. */
@Public()
@Controller('console')
@UseFilters(ConsoleErrorFilter)
export class ConsoleAuthController {
  constructor(
    private readonly sessions: ConsoleSessions,
    private readonly attempts: ConsoleLoginAttempts,
  ) {}

  @Get('login')
  loginForm(@Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    if (this.sessions.verify(sessionCookieOf(request))) return redirect(reply, '/console');
    return sendPage(reply, 200, loginPage());
  }

  @Post('login')
  @RouteConfig(FORM_BODY)
  login(@Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    const waitSeconds = this.attempts.refusedFor(request.ip);
    if (waitSeconds !== undefined) {
      reply.header('retry-after', String(waitSeconds));
      return sendPage(reply, 429, loginPage(`Too many wrong tokens from this address: try again in ${Math.ceil(waitSeconds / 60)} min.`));
    }
    const token = formOf(request).get('token') ?? '';
    if (!this.sessions.tokenMatches(token)) {
      this.attempts.failed(request.ip);
      return sendPage(reply, 401, loginPage('That is not the admin token.'));
    }
    return redirect(reply, '/console', sessionCookie(request, this.sessions.issue(), this.sessions.ttlMs));
  }

  @Post('logout')
  @RouteConfig(FORM_BODY)
  @UseGuards(ConsoleSessionGuard)
  logout(@Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    return redirect(reply, '/console/login', sessionCookie(request, undefined));
  }
}
