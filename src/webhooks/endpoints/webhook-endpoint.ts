import { randomBytes } from 'node:crypto';
import type { Mode } from '../../auth/auth-context.js';
import type { components } from '../../generated/v1.js';

export type WebhookEndpointResource = components['schemas']['WebhookEndpoint'];
export type WebhookEndpointWithSecret = components['schemas']['WebhookEndpointWithSecret'];
export type WebhookEndpointStatus = components['schemas']['WebhookEndpointStatus'];

/** How many endpoints a merchant may have in one mode: each is sent every event it subscribes to. */
export const MAX_ENDPOINTS_PER_MODE = 16;

/** `disabled_reason` of an endpoint the merchant switched off. */
export const DISABLED_BY_MERCHANT = 'disabled_by_merchant';

export interface WebhookEndpointRow {
  id: string;
  merchant_id: string;
  mode: Mode;
  url: string;
  description: string | null;
  enabled_events: string[];
  status: WebhookEndpointStatus;
  disabled_reason: string | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * A signing secret in the Standard Webhooks form: `whsec_` and the base64 of the HMAC key. 32 random
 * bytes, the HMAC-SHA256 block's worth of key (the form asks for 24 to 64).
 */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function toWebhookEndpointResource(row: WebhookEndpointRow): WebhookEndpointResource {
  return {
    id: row.id,
    object: 'webhook_endpoint',
    url: row.url,
    description: row.description,
    enabled_events: row.enabled_events,
    status: row.status,
    disabled_reason: row.disabled_reason,
    livemode: row.mode === 'live',
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The answers of a creation and a rotation: the only ones that show the secret. */
export function withSecret(row: WebhookEndpointRow, secret: string): WebhookEndpointWithSecret {
  return { ...toWebhookEndpointResource(row), secret };
}
