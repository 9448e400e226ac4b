import { IsString, MaxLength, ValidateIf } from 'class-validator';
import type { SameKeys } from '../../common/same-keys.js';
import type { components } from '../../generated/v1.js';
import { IsMetadata } from './is-metadata.js';
import { present } from './present.js';

type PaymentUpdateRequest = components['schemas']['PaymentUpdateRequest'];

export class UpdatePaymentDto implements PaymentUpdateRequest {
  // Checked even when absent if metadata is absent too: an update must change something.
  @ValidateIf((dto: UpdatePaymentDto) => dto.description !== undefined || dto.metadata === undefined)
  @IsString({ message: 'description must be a string; send description, metadata or both' })
  @MaxLength(1000)
  description?: string;

  @ValidateIf(present)
  @IsMetadata()
  metadata?: Record<string, string>;
}

true satisfies SameKeys<UpdatePaymentDto, PaymentUpdateRequest>;
