import { IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { SameKeys } from '../../../common/same-keys.js';
import type { components } from '../../../generated/v1.js';
import { present } from '../../../payments/dto/present.js';
import type { EventType } from '../../../events/event-types.js';
import { IsEnabledEvents } from './is-enabled-events.js';

type WebhookEndpointCreateRequest = components['schemas']['WebhookEndpointCreateRequest'];

/** Only the URL's form is checked here; whether it may be called is the SSRF guard's call. */
export const URL_FORM = /^https?:\/\//;
export const URL_MAX_LENGTH = 2048;

export class CreateWebhookEndpointDto implements WebhookEndpointCreateRequest {
  @IsString()
  @MaxLength(URL_MAX_LENGTH)
  @Matches(URL_FORM, { message: 'url must start with https:// (or http:// for a host the operator allowed)' })
  url!: string;

  @IsEnabledEvents()
  enabled_events!: (EventType | '*')[];

  @ValidateIf(present)
  @IsString()
  @MaxLength(1000)
  description?: string;
}

true satisfies SameKeys<CreateWebhookEndpointDto, WebhookEndpointCreateRequest>;
