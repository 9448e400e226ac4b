import { Matches, ValidateIf } from 'class-validator';
import type { SameKeys } from '../../../common/same-keys.js';
import type { components } from '../../../generated/v1.js';
import { present } from '../../../payments/dto/present.js';

type EventRedeliverRequest = components['schemas']['EventRedeliverRequest'];

export class RedeliverEventDto implements EventRedeliverRequest {
  @ValidateIf(present)
  @Matches(/^we_[0-9A-Za-z]+$/, { message: 'endpoint must be a webhook endpoint id' })
  endpoint?: string;
}

true satisfies SameKeys<RedeliverEventDto, EventRedeliverRequest>;
