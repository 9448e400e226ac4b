import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import type { SameKeys } from '../../common/same-keys.js';
import type { operations } from '../../generated/v1.js';

type ListRefundsParams = NonNullable<operations['listRefunds']['parameters']['query']>;

export class ListRefundsQuery implements ListRefundsParams {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @IsOptional()
  @Matches(/^re_[0-9A-Za-z]+$/, { message: 'starting_after must be a refund id' })
  starting_after?: string;
}

true satisfies SameKeys<ListRefundsQuery, ListRefundsParams>;
