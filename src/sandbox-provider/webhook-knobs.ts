/**
 * The sandbox's webhook knobs: where its events go, the secret they are signed with, and how their
 * delivery misbehaves (delay, duplicates, reordering, sending before the answer, retries). Read from
 * the JSON config API and from the environment by the same rules as the fault knobs, and how the
 * random draws shape one event's delivery.
 */
import { BOOLEAN, integerIn, type Knob, KnobError, MS, RATE, toNumber } from './knob.js';
import type { Random } from './random.js';

export interface SandboxWebhooks {
  /** Where events are POSTed. Null: no webhooks are sent. */
  url: string | null;
  /** The Standard Webhooks secret (`whsec_<base64>`) events are signed with. Null: no webhooks are sent. Never shown back. */
  signingSecret: string | null;
  /** Off: nothing is sent, even with a URL and a secret. */
  enabled: boolean;
  /** Waited after an execution before its event is sent, in milliseconds. */
  delayMs: number;
  /** Share of events sent twice, with the same id and body. */
  duplicateRate: number;
  /** Share of events held back an extra 0…reorderMaxMs, so events after them overtake them. */
  reorderRate: number;
  reorderMaxMs: number;
  /** The event's first delivery is awaited (up to its timeout) before the charge or refund is answered. */
  beforeResponse: boolean;
  /** How many times a delivery that did not get a 2xx is sent again. */
  retries: number;
  retryIntervalMs: number;
  /** One attempt's limit, connecting to reading the answer. */
  timeoutMs: number;
}

/** Knobs under which events are sent: a URL and a secret are set. */
export type ActiveWebhooks = SandboxWebhooks & { url: string; signingSecret: string };

/** How one event is delivered, decided by `planDelivery`. */
export interface DeliveryPlan {
  copies: 1 | 2;
  /** Extra wait before the first attempt, on top of `delayMs`. */
  holdMs: number;
}

/** Sent nowhere until a URL and a secret are given; when they are, delivered once, promptly, retried 3 times a second apart. */
export function defaultWebhooks(): SandboxWebhooks {
  return {
    url: null,
    signingSecret: null,
    enabled: true,
    delayMs: 0,
    duplicateRate: 0,
    reorderRate: 0,
    reorderMaxMs: 200,
    beforeResponse: false,
    retries: 3,
    retryIntervalMs: 1_000,
    timeoutMs: 5_000,
  };
}

function isWebhookUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** The size the Standard Webhooks spec asks of a key, decoded. */
const SECRET_BYTES = { min: 24, max: 64 };

function isSigningSecret(value: unknown): boolean {
  if (typeof value !== 'string' || !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const key = Buffer.from(value.slice('whsec_'.length), 'base64');
  // Re-encoding catches base64 Node decodes leniently (wrong padding, stray bits).
  return key.toString('base64') === value.slice('whsec_'.length) && key.length >= SECRET_BYTES.min && key.length <= SECRET_BYTES.max;
}

// Null clears the URL or the secret, which turns webhooks off.
const nullOr = (valid: (value: unknown) => boolean) => (value: unknown) => value === null || valid(value);

const KNOBS: Record<keyof SandboxWebhooks, Knob> = {
  url: { json: 'webhook_url', env: 'SANDBOX_WEBHOOK_URL', expects: 'an http(s) URL or null', valid: nullOr(isWebhookUrl), fromEnv: (text) => text },
  signingSecret: {
    json: 'webhook_signing_secret',
    env: 'SANDBOX_WEBHOOK_SIGNING_SECRET',
    expects: `a Standard Webhooks secret, whsec_ and the base64 of ${SECRET_BYTES.min} to ${SECRET_BYTES.max} bytes, or null`,
    valid: nullOr(isSigningSecret),
    fromEnv: (text) => text,
  },
  enabled: { json: 'webhooks_enabled', env: 'SANDBOX_WEBHOOKS_ENABLED', ...BOOLEAN },
  delayMs: { json: 'webhook_delay_ms', env: 'SANDBOX_WEBHOOK_DELAY_MS', ...MS },
  duplicateRate: { json: 'webhook_duplicate_rate', env: 'SANDBOX_WEBHOOK_DUPLICATE_RATE', ...RATE },
  reorderRate: { json: 'webhook_reorder_rate', env: 'SANDBOX_WEBHOOK_REORDER_RATE', ...RATE },
  reorderMaxMs: { json: 'webhook_reorder_max_ms', env: 'SANDBOX_WEBHOOK_REORDER_MAX_MS', ...MS },
  beforeResponse: { json: 'webhook_before_response', env: 'SANDBOX_WEBHOOK_BEFORE_RESPONSE', ...BOOLEAN },
  retries: { json: 'webhook_retries', env: 'SANDBOX_WEBHOOK_RETRIES', expects: 'an integer from 0 to 20', valid: integerIn(0, 20), fromEnv: toNumber },
  retryIntervalMs: { json: 'webhook_retry_interval_ms', env: 'SANDBOX_WEBHOOK_RETRY_INTERVAL_MS', ...MS },
  timeoutMs: { json: 'webhook_timeout_ms', env: 'SANDBOX_WEBHOOK_TIMEOUT_MS', expects: 'an integer from 1 to 120000', valid: integerIn(1, 120_000), fromEnv: toNumber },
};

const NAMES = Object.keys(KNOBS) as (keyof SandboxWebhooks)[];

/** The JSON fields of the webhook knobs in a `POST /__sandbox/config` body. */
export const WEBHOOK_FIELDS: readonly string[] = NAMES.map((name) => KNOBS[name].json);

type Patch = Partial<Record<keyof SandboxWebhooks, unknown>>;

function merge(base: SandboxWebhooks, patch: Patch, problem: (knob: Knob) => string): SandboxWebhooks {
  const next: Record<string, unknown> = { ...base };
  for (const name of NAMES) {
    const value = patch[name];
    if (value === undefined) continue;
    if (!KNOBS[name].valid(value)) throw new KnobError(problem(KNOBS[name]));
    next[name] = value;
  }
  return next as unknown as SandboxWebhooks;
}

/** `base` with `patch` applied, all or nothing; a bad value throws a KnobError naming its JSON field. */
export function applyWebhooks(base: SandboxWebhooks, patch: Partial<SandboxWebhooks>): SandboxWebhooks {
  return merge(base, patch, (knob) => `${knob.json} must be ${knob.expects}`);
}

/** The webhook knobs of a `POST /__sandbox/config` body, checked when applied; other fields are left to the fault knobs. */
export function webhooksFromJson(body: Record<string, unknown>): Partial<SandboxWebhooks> {
  const patch: Patch = {};
  for (const name of NAMES) {
    if (KNOBS[name].json in body) patch[name] = body[KNOBS[name].json];
  }
  return patch as Partial<SandboxWebhooks>;
}

/** The knobs as `GET /__sandbox/config` shows them: the secret only as whether one is set. */
export function webhooksToJson(webhooks: Readonly<SandboxWebhooks>): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const name of NAMES) {
    if (name === 'signingSecret') json[`${KNOBS[name].json}_set`] = webhooks.signingSecret !== null;
    else json[KNOBS[name].json] = webhooks[name];
  }
  return json;
}

/**
 * The knobs set in the environment (`SANDBOX_WEBHOOK_URL`, `SANDBOX_WEBHOOK_SIGNING_SECRET`,
 * `SANDBOX_WEBHOOK_DELAY_MS`, …; unset or empty means the default), for `buildSandbox({ webhooks })`.
 * A bad value throws, naming the variable.
 */
export function webhooksFromEnv(env: Record<string, string | undefined>): Partial<SandboxWebhooks> {
  const patch: Patch = {};
  for (const name of NAMES) {
    const text = env[KNOBS[name].env];
    if (text !== undefined && text !== '') patch[name] = KNOBS[name].fromEnv(text);
  }
  // The secret is never repeated in a message.
  merge(defaultWebhooks(), patch, (knob) => `${knob.env} must be ${knob.expects}${knob === KNOBS.signingSecret ? '' : `, got "${env[knob.env]}"`}`);
  return patch as Partial<SandboxWebhooks>;
}

/** Whether an execution's event is sent at all. */
export function webhooksOn(webhooks: SandboxWebhooks): webhooks is ActiveWebhooks {
  return webhooks.enabled && webhooks.url !== null && webhooks.signingSecret !== null;
}

/** One event's delivery from three draws of `random`, always three, so the sequence for a seed does not depend on the rates. */
export function planDelivery(webhooks: SandboxWebhooks, random: Random): DeliveryPlan {
  const duplicate = random() < webhooks.duplicateRate;
  const reorder = random() < webhooks.reorderRate;
  const hold = Math.floor(random() * (webhooks.reorderMaxMs + 1));
  return { copies: duplicate ? 2 : 1, holdMs: reorder ? hold : 0 };
}
