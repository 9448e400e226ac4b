import { IsOptional, Matches } from 'class-validator';
import type { SameKeys } from '../../common/same-keys.js';
import type { operations } from '../../generated/v1.js';
import { PageQuery } from '../../http/page-query.js';

type ListPaymentsParams = NonNullable<operations['listPayments']['parameters']['query']>;

export class ListPaymentsQuery extends PageQuery implements ListPaymentsParams {
  @IsOptional()
  @Matches(/^pay_[0-9A-Za-z]+$/, { message: 'starting_after must be a payment id' })
  starting_after?: string;
}

true satisfies SameKeys<ListPaymentsQuery, ListPaymentsParams>;
