import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const DEFAULT_PAGE_LIMIT = 10;

/** The `limit` every cursor list takes (1–100); each list adds its own `starting_after`. */
export abstract class PageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

/** A page from `limit + 1` rows read newest first: the extra row only tells that there is more. */
export function toPage<Row, Item>(rows: Row[], limit: number, url: string, render: (row: Row) => Item) {
  return { object: 'list' as const, url, data: rows.slice(0, limit).map(render), has_more: rows.length > limit };
}
