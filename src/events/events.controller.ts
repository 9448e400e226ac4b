import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { Auth, type AuthContext } from '../auth/auth-context.js';
import { DtoPipe } from '../http/dto.pipe.js';
import { ListEventsQuery } from './dto/list-events.query.js';
import { renderEvent } from './event.js';
import { EventsService } from './events.service.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Answers are JSON text built around each event's stored resource (see renderEvent), sent as is. */
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @Header('content-type', JSON_TYPE)
  list(@Auth() auth: AuthContext, @Query(new DtoPipe(ListEventsQuery)) query: ListEventsQuery): Promise<string> {
    return this.events.list(auth, query);
  }

  @Get(':id')
  @Header('content-type', JSON_TYPE)
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<string> {
    return renderEvent(await this.events.get(auth, id));
  }
}
