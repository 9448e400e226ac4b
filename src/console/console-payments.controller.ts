import { Controller, Get, Param, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { isIdOf } from '../common/ids.js';
import type { PaymentStatus } from '../payments/payment.js';
import { ConsoleErrorFilter } from './console-error.filter.js';
import { matching, oneOf, text } from './console-input.js';
import { ConsolePaymentsService } from './console-payments.service.js';
import { ConsoleRefusal } from './console-refusal.js';
import { sendPage } from './console-reply.js';
import { ConsoleSessionGuard, CurrentSession } from './console-session.guard.js';
import type { ConsoleSession } from './console-sessions.js';
import { paymentsPage } from './views/payments.page.js';
import { timelinePage } from './views/timeline.page.js';

const PAYMENT_STATUSES: readonly PaymentStatus[] = ['pending', 'processing', 'succeeded', 'failed'];
const ID = /^[a-z]+_[0-9A-Z]{26}$/;

/** Recent payments with their search, and one payment's timeline. */
@Public()
@Controller('console')
@UseGuards(ConsoleSessionGuard)
@UseFilters(ConsoleErrorFilter)
export class ConsolePaymentsController {
  constructor(private readonly payments: ConsolePaymentsService) {}

  @Get()
  async list(@CurrentSession() session: ConsoleSession, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const filter = {
      q: text(query.q, 'The payment or operation id', 255),
      status: oneOf(query.status, 'The status', PAYMENT_STATUSES),
      merchant: matching(query.merchant, 'The merchant id', ID),
      before: matching(query.before, 'The page', ID),
    };
    return sendPage(reply, 200, paymentsPage(session.csrf, filter, await this.payments.list(filter)));
  }

  @Get('payments/:id')
  async timeline(@CurrentSession() session: ConsoleSession, @Param('id') id: string, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const timeline = isIdOf('pay', id) ? await this.payments.timeline(id) : undefined;
    if (!timeline) throw new ConsoleRefusal('not-found', `No payment ${id}.`);
    return sendPage(reply, 200, timelinePage(session.csrf, timeline));
  }
}
