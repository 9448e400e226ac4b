import { IsInt, IsString, Matches, Max, MaxLength, Min, ValidateBy, ValidateIf } from 'class-validator';
import type { SameKeys } from '../../common/same-keys.js';
import type { components } from '../../generated/v1.js';
import { isSupportedCurrency, MAX_AMOUNT } from '../currencies.js';
import { IsMetadata } from './is-metadata.js';
import { present } from './present.js';

type PaymentCreateRequest = components['schemas']['PaymentCreateRequest'];

export class CreatePaymentDto implements PaymentCreateRequest {
  @IsInt()
  @Min(1)
  @Max(MAX_AMOUNT)
  amount: number;

  @IsString()
  @ValidateBy({
    name: 'isSupportedCurrency',
    validator: { validate: isSupportedCurrency, defaultMessage: () => 'currency must be a supported ISO 4217 code such as usd, eur or jpy' },
  })
  currency: string;

  @IsString()
  @Matches(/^pm_[A-Za-z0-9_]{1,100}$/, { message: 'payment_method must be a payment method token such as pm_card_visa' })
  payment_method: string;

  @ValidateIf(present)
  @IsString()
  @MaxLength(1000)
  description?: string;

  @ValidateIf(present)
  @IsMetadata()
  metadata?: Record<string, string>;
}

true satisfies SameKeys<CreatePaymentDto, PaymentCreateRequest>;
