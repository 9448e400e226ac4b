import { Controller, Get, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { ConsoleErrorFilter } from './console-error.filter.js';
import { matching, oneOf, PROVIDER_NAME, text } from './console-input.js';
import { ConsoleProvidersService } from './console-providers.service.js';
import { ConsoleRefusal } from './console-refusal.js';
import { redirect, sendPage } from './console-reply.js';
import { ConsoleSessionGuard, CurrentSession, formOf } from './console-session.guard.js';
import type { ConsoleSession } from './console-sessions.js';
import { FORM_BODY } from './form-body.js';
import { href } from './views/html.js';
import { providersPage } from './views/providers.page.js';

const REASON_MAX = 500;

/** Each provider's breakers and its kill switch, which the page flips. */
@Public()
@Controller('console')
@UseGuards(ConsoleSessionGuard)
@UseFilters(ConsoleErrorFilter)
export class ConsoleProvidersController {
  constructor(private readonly providers: ConsoleProvidersService) {}

  @Get('providers')
  async list(@CurrentSession() session: ConsoleSession, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const switched = matching(query.switched, 'The provider switched', PROVIDER_NAME);
    const providers = await this.providers.list();
    const state = providers.find((p) => p.provider === switched);
    const notice = state && `The kill switch of ${state.provider} is ${state.enabled ? 'on' : 'off'}: every instance follows within a second.`;
    return sendPage(reply, 200, providersPage(session.csrf, providers, notice));
  }

  @Post('providers/:provider/kill-switch')
  @RouteConfig(FORM_BODY)
  async setKillSwitch(@Param('provider') provider: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const form = formOf(request);
    const enabled = oneOf(form.get('enabled'), 'enabled', ['true', 'false'] as const);
    const reason = text(form.get('reason'), 'The reason', REASON_MAX) ?? null;
    if (enabled === undefined) throw new ConsoleRefusal('bad-input', 'Say whether to switch the provider on or off.');
    if (enabled === 'false' && reason === null) throw new ConsoleRefusal('bad-input', 'Give a reason for switching a provider off: the next operator reads it.');
    if (!PROVIDER_NAME.test(provider) || !(await this.providers.setEnabled(provider, enabled === 'true', reason))) {
      throw new ConsoleRefusal('not-found', `No provider ${provider}.`);
    }
    return redirect(reply, href('/console/providers', { switched: provider }));
  }
}
