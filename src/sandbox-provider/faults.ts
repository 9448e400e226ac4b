/**
 * The sandbox's fault knobs: their types and defaults, how they are read from the JSON config API
 * and from the environment (both checked by the same rules), and how one random draw picks the fault
 * that hits a request.
 */
import { integerIn, type Knob, KnobError, MS, RATE, toNumber } from './knob.js';

export type ChargeThenFailMode = 'error' | 'hang';

export interface SandboxFaults {
  /** Added to every provider request, in milliseconds. */
  latencyMs: number;
  /** A uniform extra of 0…jitterMs on top of `latencyMs`. */
  jitterMs: number;
  /** Share of requests answered with one of `errorStatuses`, not executed. */
  errorRate: number;
  errorStatuses: number[];
  /** Share of requests never answered and not executed: the connection is held until the client gives up. */
  timeoutRate: number;
  /** Share of requests whose connection is reset without an answer, not executed. */
  resetRate: number;
  /** Share of requests answered 429 with `Retry-After: retryAfterS`, not executed. */
  rateLimitRate: number;
  retryAfterS: number;
  /** Share of requests executed, then answered 500 (`'error'`) or never answered (`'hang'`). */
  chargeThenFailRate: number;
  chargeThenFailMode: ChargeThenFailMode;
  /** Seeds the draws: the same seed gives the same sequence of faults. Setting it restarts the sequence. */
  seed: number;
}

/** What a request meets, decided by `pickFault`. */
export type Fault =
  | { kind: 'none' }
  | { kind: 'error'; status: number }
  | { kind: 'timeout' }
  | { kind: 'reset' }
  | { kind: 'rate_limit'; retryAfterS: number }
  | { kind: 'charge_then_fail'; mode: ChargeThenFailMode };

/** No faults, no latency, and a fixed seed, so a run is reproducible unless a seed is chosen. */
export function defaultFaults(): SandboxFaults {
  return {
    latencyMs: 0,
    jitterMs: 0,
    errorRate: 0,
    errorStatuses: [500, 502, 503],
    timeoutRate: 0,
    resetRate: 0,
    rateLimitRate: 0,
    retryAfterS: 1,
    chargeThenFailRate: 0,
    chargeThenFailMode: 'error',
    seed: 1,
  };
}

const KNOBS: Record<keyof SandboxFaults, Knob> = {
  latencyMs: { json: 'latency_ms', env: 'SANDBOX_LATENCY_MS', ...MS },
  jitterMs: { json: 'jitter_ms', env: 'SANDBOX_JITTER_MS', ...MS },
  errorRate: { json: 'error_rate', env: 'SANDBOX_ERROR_RATE', ...RATE },
  errorStatuses: {
    json: 'error_statuses',
    env: 'SANDBOX_ERROR_STATUSES',
    expects: 'a non-empty list of HTTP statuses from 400 to 599',
    valid: (value) => Array.isArray(value) && value.length > 0 && value.length <= 20 && value.every(integerIn(400, 599)),
    fromEnv: (text) => text.split(',').map(toNumber),
  },
  timeoutRate: { json: 'timeout_rate', env: 'SANDBOX_TIMEOUT_RATE', ...RATE },
  resetRate: { json: 'reset_rate', env: 'SANDBOX_RESET_RATE', ...RATE },
  rateLimitRate: { json: 'rate_limit_rate', env: 'SANDBOX_RATE_LIMIT_RATE', ...RATE },
  retryAfterS: { json: 'retry_after_s', env: 'SANDBOX_RETRY_AFTER_S', expects: 'an integer from 0 to 3600', valid: integerIn(0, 3600), fromEnv: toNumber },
  chargeThenFailRate: { json: 'charge_then_fail_rate', env: 'SANDBOX_CHARGE_THEN_FAIL_RATE', ...RATE },
  chargeThenFailMode: {
    json: 'charge_then_fail_mode',
    env: 'SANDBOX_CHARGE_THEN_FAIL_MODE',
    expects: '"error" or "hang"',
    valid: (value) => value === 'error' || value === 'hang',
    fromEnv: (text) => text,
  },
  seed: { json: 'seed', env: 'SANDBOX_SEED', expects: 'an integer from 0 to 4294967295', valid: integerIn(0, 0xffff_ffff), fromEnv: toNumber },
};

const NAMES = Object.keys(KNOBS) as (keyof SandboxFaults)[];
const BY_JSON = new Map(NAMES.map((name) => [KNOBS[name].json, name]));
const RATES = ['errorRate', 'timeoutRate', 'resetRate', 'rateLimitRate', 'chargeThenFailRate'] as const;

type Patch = Partial<Record<keyof SandboxFaults, unknown>>;

/** `base` with `patch` applied, all or nothing: a bad value throws the message `problem` gives for it. */
function merge(base: SandboxFaults, patch: Patch, problem: (knob: Knob, name: keyof SandboxFaults) => string): SandboxFaults {
  const next: Record<string, unknown> = { ...base };
  for (const name of NAMES) {
    const value = patch[name];
    if (value === undefined) continue;
    if (!KNOBS[name].valid(value)) throw new KnobError(problem(KNOBS[name], name));
    next[name] = Array.isArray(value) ? [...value] : value;
  }
  const merged = next as unknown as SandboxFaults;
  const total = RATES.reduce((sum, name) => sum + merged[name], 0);
  // The rates share one draw in [0, 1); the tolerance absorbs float sums such as 0.7 + 0.2 + 0.1.
  if (total > 1 + 1e-9) throw new KnobError(`the fault rates add up to ${total}; together they must not exceed 1`);
  return merged;
}

/** `base` with `patch` applied, all or nothing; a bad value throws a KnobError naming its JSON field. */
export function applyFaults(base: SandboxFaults, patch: Partial<SandboxFaults>): SandboxFaults {
  return merge(base, patch, (knob) => `${knob.json} must be ${knob.expects}`);
}

/**
 * The fault knobs of a `POST /__sandbox/config` body (snake_case), checked when applied. `otherFields`
 * are knobs read elsewhere (the webhook knobs), skipped here; any other unknown field is refused.
 */
export function faultsFromJson(body: unknown, otherFields: readonly string[] = []): Partial<SandboxFaults> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new KnobError('the body must be a JSON object');
  const patch: Patch = {};
  for (const [field, value] of Object.entries(body)) {
    if (otherFields.includes(field)) continue;
    const name = BY_JSON.get(field);
    if (!name) throw new KnobError(`unknown field ${field}; the knobs are ${[...BY_JSON.keys(), ...otherFields].join(', ')}`);
    patch[name] = value;
  }
  return patch as Partial<SandboxFaults>;
}

export function faultsToJson(faults: Readonly<SandboxFaults>): Record<string, unknown> {
  return Object.fromEntries(NAMES.map((name) => [KNOBS[name].json, faults[name]]));
}

/**
 * The knobs set in the environment (`SANDBOX_LATENCY_MS`, `SANDBOX_ERROR_RATE`, …; unset or empty
 * means the default), for `buildSandbox({ faults })`. A bad value throws, naming the variable.
 */
export function faultsFromEnv(env: Record<string, string | undefined>): Partial<SandboxFaults> {
  const patch: Patch = {};
  for (const name of NAMES) {
    const text = env[KNOBS[name].env];
    if (text !== undefined && text !== '') patch[name] = KNOBS[name].fromEnv(text);
  }
  merge(defaultFaults(), patch, (knob) => `${knob.env} must be ${knob.expects}, got "${env[knob.env]}"`);
  return patch as Partial<SandboxFaults>;
}

/** The fault for one request from one uniform draw `u` in [0, 1): each rate owns a slice, the rest is no fault. */
export function pickFault(faults: SandboxFaults, u: number): Fault {
  let edge = faults.errorRate;
  if (u < edge) {
    // Where u falls inside the error slice picks the status, so the single draw decides everything.
    const index = Math.min(Math.floor((u / faults.errorRate) * faults.errorStatuses.length), faults.errorStatuses.length - 1);
    return { kind: 'error', status: faults.errorStatuses[index] };
  }
  if (u < (edge += faults.timeoutRate)) return { kind: 'timeout' };
  if (u < (edge += faults.resetRate)) return { kind: 'reset' };
  if (u < (edge += faults.rateLimitRate)) return { kind: 'rate_limit', retryAfterS: faults.retryAfterS };
  if (u < (edge += faults.chargeThenFailRate)) return { kind: 'charge_then_fail', mode: faults.chargeThenFailMode };
  return { kind: 'none' };
}

/** The latency of one request from a uniform draw `u` in [0, 1). */
export function delayOf(faults: SandboxFaults, u: number): number {
  return faults.latencyMs + Math.floor(u * (faults.jitterMs + 1));
}
