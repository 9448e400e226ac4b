import { IsOptional, Matches } from 'class-validator';
import type { SameKeys } from '../../../common/same-keys.js';
import type { operations } from '../../../generated/v1.js';
import { PageQuery } from '../../../http/page-query.js';

type ListDeliveriesParams = NonNullable<operations['listWebhookDeliveries']['parameters']['query']>;

export class ListDeliveriesQuery extends PageQuery implements ListDeliveriesParams {
  @IsOptional()
  @Matches(/^whd_[0-9A-Za-z]+$/, { message: 'starting_after must be a webhook delivery id' })
  starting_after?: string;
}

true satisfies SameKeys<ListDeliveriesQuery, ListDeliveriesParams>;
