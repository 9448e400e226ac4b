import { Matches, ValidateIf } from 'class-validator';
import type { SameKeys } from '../../../common/same-keys.js';
import type { components } from '../../../generated/v1.js';

type EventRedeliverRequest = components['schemas']['EventRedeliverRequest'];

export class RedeliverEventDto implements EventRedeliverRequest {
  // Absent means every subscribed endpoint; an explicit null is refused, as the spec has it non-nullable.
  @ValidateIf((_: object, value: unknown) => value !== undefined)
  @Matches(/^we_[0-9A-Za-z]+$/, { message: 'endpoint must be a webhook endpoint id' })
  endpoint?: string;
}

true satisfies SameKeys<RedeliverEventDto, EventRedeliverRequest>;
