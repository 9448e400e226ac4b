import { IsBoolean, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { SameKeys } from '../../../common/same-keys.js';
import type { components } from '../../../generated/v1.js';
import { present } from '../../../payments/dto/present.js';
import type { EventType } from '../../../events/event-types.js';
import { URL_FORM, URL_MAX_LENGTH } from './create-webhook-endpoint.dto.js';
import { IsEnabledEvents } from './is-enabled-events.js';

type WebhookEndpointUpdateRequest = components['schemas']['WebhookEndpointUpdateRequest'];

export class UpdateWebhookEndpointDto implements WebhookEndpointUpdateRequest {
  @ValidateIf(present)
  @IsString()
  @MaxLength(URL_MAX_LENGTH)
  @Matches(URL_FORM, { message: 'url must start with https:// (or http:// for a host the operator allowed)' })
  url?: string;

  @ValidateIf(present)
  @IsEnabledEvents()
  enabled_events?: (EventType | '*')[];

  // `null` is a value here: it clears the description.
  @ValidateIf((_: object, value: unknown) => value !== undefined && value !== null)
  @IsString()
  @MaxLength(1000)
  description?: string | null;

  // Checked even when absent if everything else is absent too: an update must change something.
  @ValidateIf((dto: UpdateWebhookEndpointDto) =>
    dto.disabled !== undefined || (dto.url === undefined && dto.enabled_events === undefined && dto.description === undefined))
  @IsBoolean({ message: 'disabled must be true or false; send url, enabled_events, description or disabled' })
  disabled?: boolean;
}

true satisfies SameKeys<UpdateWebhookEndpointDto, WebhookEndpointUpdateRequest>;
