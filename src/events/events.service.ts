import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context.js';
import { ProblemError } from '../errors/problem.js';
import { DEFAULT_PAGE_LIMIT } from '../http/page-query.js';
import type { ListEventsQuery } from './dto/list-events.query.js';
import { type EventRow, renderEventPage } from './event.js';
import { EventsRepository } from './events.repository.js';

@Injectable()
export class EventsService {
  constructor(private readonly events: EventsRepository) {}

  async get(auth: AuthContext, id: string): Promise<EventRow> {
    const event = await this.events.findById(auth, id);
    // Another merchant's event, or one of the other mode, is as unknown as a missing one.
    if (!event) throw new ProblemError('resource-not-found', `No event ${id}.`);
    return event;
  }

  /** The page as JSON text (see renderEvent). */
  async list(auth: AuthContext, query: ListEventsQuery): Promise<string> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.events.list(auth, { type: query.type, paymentId: query.payment }, limit, query.starting_after);
    return renderEventPage(rows, limit, '/v1/events');
  }
}
