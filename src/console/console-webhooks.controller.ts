import { Controller, Get, Param, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { isIdOf } from '../common/ids.js';
import { ConsoleErrorFilter } from './console-error.filter.js';
import { INBOX_ID, matching, oneOf } from './console-input.js';
import { ConsoleRefusal } from './console-refusal.js';
import { redirect, sendPage } from './console-reply.js';
import { ConsoleSessionGuard, CurrentSession } from './console-session.guard.js';
import type { ConsoleSession } from './console-sessions.js';
import { ConsoleWebhooksService } from './console-webhooks.service.js';
import { FORM_BODY } from './form-body.js';
import { href } from './views/html.js';
import { deadLettersPage } from './views/dead-letters.page.js';
import { INBOX_STATUSES, inboxPage } from './views/inbox.page.js';
import { outboxPage } from './views/outbox.page.js';

const DELIVERY_ID = /^whd_[0-9A-Z]{26}$/;

/** The provider inbox with its redrive, the outbox, and the dead deliveries with their redelivery. */
@Public()
@Controller('console')
@UseGuards(ConsoleSessionGuard)
@UseFilters(ConsoleErrorFilter)
export class ConsoleWebhooksController {
  constructor(private readonly webhooks: ConsoleWebhooksService) {}

  @Get('inbox')
  async inbox(@CurrentSession() session: ConsoleSession, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const status = oneOf(query.status, 'The status', INBOX_STATUSES);
    const before = matching(query.before, 'The page', INBOX_ID);
    const redriven = matching(query.redriven, 'The event redriven', INBOX_ID);
    const notice = redriven && `Provider event #${redriven} is received again, its tries forgotten: the next pass applies it.`;
    return sendPage(reply, 200, inboxPage(session.csrf, status, before, await this.webhooks.inboxPage(status, before), notice));
  }

  @Post('inbox/:id/redrive')
  @RouteConfig(FORM_BODY)
  async redrive(@Param('id') id: string, @Res() reply: FastifyReply): Promise<FastifyReply> {
    if (!INBOX_ID.test(id) || !(await this.webhooks.redrive(id))) throw new ConsoleRefusal('not-found', `No provider event #${id} in the inbox.`);
    return redirect(reply, href('/console/inbox', { redriven: id }));
  }

  @Get('outbox')
  async outbox(@CurrentSession() session: ConsoleSession, @Res() reply: FastifyReply): Promise<FastifyReply> {
    return sendPage(reply, 200, outboxPage(session.csrf, await this.webhooks.outbox()));
  }

  @Get('dead-letters')
  async deadLetters(@CurrentSession() session: ConsoleSession, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const requeued = matching(query.requeued, 'The delivery queued', DELIVERY_ID);
    const notice = requeued && `Delivery ${requeued} is queued again (pending, due now): the delivery worker sends it at its next pass.`;
    return sendPage(reply, 200, deadLettersPage(session.csrf, await this.webhooks.deadLetters(), notice));
  }

  @Post('deliveries/:id/redeliver')
  @RouteConfig(FORM_BODY)
  async redeliver(@Param('id') id: string, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const delivery = isIdOf('whd', id) ? await this.webhooks.redeliver(id) : undefined;
    if (!delivery) throw new ConsoleRefusal('not-found', `No webhook delivery ${id}.`);
    return redirect(reply, href('/console/dead-letters', { requeued: delivery.id }));
  }
}
