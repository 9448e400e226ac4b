import { IsOptional, Matches } from 'class-validator';
import type { SameKeys } from '../../../common/same-keys.js';
import type { operations } from '../../../generated/v1.js';
import { PageQuery } from '../../../http/page-query.js';

type ListWebhookEndpointsParams = NonNullable<operations['listWebhookEndpoints']['parameters']['query']>;

export class ListWebhookEndpointsQuery extends PageQuery implements ListWebhookEndpointsParams {
  @IsOptional()
  @Matches(/^we_[0-9A-Za-z]+$/, { message: 'starting_after must be a webhook endpoint id' })
  starting_after?: string;
}

true satisfies SameKeys<ListWebhookEndpointsQuery, ListWebhookEndpointsParams>;
