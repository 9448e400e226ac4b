import { IsOptional, Matches } from 'class-validator';
import type { SameKeys } from '../../common/same-keys.js';
import type { operations } from '../../generated/v1.js';
import { PageQuery } from '../../http/page-query.js';

type ListRefundsParams = NonNullable<operations['listRefunds']['parameters']['query']>;

export class ListRefundsQuery extends PageQuery implements ListRefundsParams {
  @IsOptional()
  @Matches(/^re_[0-9A-Za-z]+$/, { message: 'starting_after must be a refund id' })
  starting_after?: string;
}

true satisfies SameKeys<ListRefundsQuery, ListRefundsParams>;
