import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const DEFAULT_PAGE_LIMIT = 10;

// Only plain decimal digits are a number here: Number() would also read "0x10", "1e1", "010", " 5" or "5.0".
const DECIMAL = /^[1-9][0-9]{0,2}$/;
const LIMIT_MESSAGE = { message: 'limit must be a whole number from 1 to 100, in decimal digits' };

/** The `limit` every cursor list takes (1–100); each list adds its own `starting_after`. */
export abstract class PageQuery {
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value))
  @IsInt(LIMIT_MESSAGE)
  @Min(1, LIMIT_MESSAGE)
  @Max(100, LIMIT_MESSAGE)
  limit?: number;
}

/** A page from `limit + 1` rows read newest first: the extra row only tells that there is more. */
export function toPage<Row, Item>(rows: Row[], limit: number, url: string, render: (row: Row) => Item) {
  return { object: 'list' as const, url, data: rows.slice(0, limit).map(render), has_more: rows.length > limit };
}
