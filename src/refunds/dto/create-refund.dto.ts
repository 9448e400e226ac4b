import { IsIn, IsInt, Max, Min, ValidateIf } from 'class-validator';
import type { SameKeys } from '../../common/same-keys.js';
import type { components } from '../../generated/v1.js';
import { MAX_AMOUNT } from '../../payments/currencies.js';
import { IsMetadata } from '../../payments/dto/is-metadata.js';
import { present } from '../../payments/dto/present.js';
import { REFUND_REASONS, type RefundReason } from '../refund.js';

type RefundCreateRequest = components['schemas']['RefundCreateRequest'];

export class CreateRefundDto implements RefundCreateRequest {
  @ValidateIf(present)
  @IsInt()
  @Min(1)
  @Max(MAX_AMOUNT)
  amount?: number;

  @ValidateIf(present)
  @IsIn(REFUND_REASONS, { message: `reason must be one of ${REFUND_REASONS.join(', ')}` })
  reason?: RefundReason;

  @ValidateIf(present)
  @IsMetadata()
  metadata?: Record<string, string>;
}

true satisfies SameKeys<CreateRefundDto, RefundCreateRequest>;
