import { Module } from '@nestjs/common';
import { EventsController } from './events.controller.js';
import { EventsRepository } from './events.repository.js';
import { EventsService } from './events.service.js';
import { Outbox } from './outbox.js';

@Module({
  controllers: [EventsController],
  providers: [Outbox, EventsRepository, EventsService],
  exports: [Outbox, EventsService],
})
export class EventsModule {}
