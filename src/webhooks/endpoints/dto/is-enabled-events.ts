import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn } from 'class-validator';
import { applyDecorators } from '@nestjs/common';
import { EVENT_TYPES } from '../../../events/event-types.js';
import { ALL_EVENTS } from '../event-types.js';

const ALLOWED = [ALL_EVENTS, ...EVENT_TYPES];

/** `enabled_events`: 1 to 8 distinct names, each `*` or a known event type. */
export function IsEnabledEvents(): PropertyDecorator {
  return applyDecorators(
    IsArray({ message: 'enabled_events must be an array of event types' }),
    ArrayMinSize(1, { message: 'enabled_events must name at least one event type, or "*"' }),
    ArrayMaxSize(ALLOWED.length),
    ArrayUnique({ message: 'enabled_events must not repeat an event type' }),
    IsIn(ALLOWED, { each: true, message: `each of enabled_events must be one of ${ALLOWED.join(', ')}` }),
  );
}
