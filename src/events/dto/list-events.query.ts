import { IsIn, IsOptional, Matches } from 'class-validator';
import type { SameKeys } from '../../common/same-keys.js';
import type { operations } from '../../generated/v1.js';
import { PageQuery } from '../../http/page-query.js';
import { EVENT_TYPES, type EventType } from '../event-types.js';

type ListEventsParams = NonNullable<operations['listEvents']['parameters']['query']>;

export class ListEventsQuery extends PageQuery implements ListEventsParams {
  @IsOptional()
  @Matches(/^evt_[0-9A-Za-z]+$/, { message: 'starting_after must be an event id' })
  starting_after?: string;

  @IsOptional()
  @IsIn(EVENT_TYPES, { message: `type must be one of ${EVENT_TYPES.join(', ')}` })
  type?: EventType;

  @IsOptional()
  @Matches(/^pay_[0-9A-Za-z]+$/, { message: 'payment must be a payment id' })
  payment?: string;
}

true satisfies SameKeys<ListEventsQuery, ListEventsParams>;
