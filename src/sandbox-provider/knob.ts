/**
 * What a sandbox knob is — its JSON field, its environment variable and the rule its value must
 * meet — and the rules the fault knobs and the webhook knobs share, so both are read the same way.
 */

export interface Knob {
  json: string;
  env: string;
  /** Ends "… must be <expects>". */
  expects: string;
  valid(value: unknown): boolean;
  /** The environment's text as a candidate value, checked by `valid` afterwards. */
  fromEnv(text: string): unknown;
}

/** Thrown for a bad knob value; its message names the field or the variable. */
export class KnobError extends Error {}

export const integerIn = (min: number, max: number) => (value: unknown) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
// Number('') is 0: an empty or blank value must be refused, not read as zero.
export const toNumber = (text: string) => (text.trim() === '' ? Number.NaN : Number(text));

export const MS = { expects: 'an integer from 0 to 120000', valid: integerIn(0, 120_000), fromEnv: toNumber };
export const RATE = { expects: 'a number from 0 to 1', valid: (value: unknown) => typeof value === 'number' && value >= 0 && value <= 1, fromEnv: toNumber };
export const BOOLEAN = {
  expects: 'true or false',
  valid: (value: unknown) => typeof value === 'boolean',
  // Anything else stays text, which `valid` refuses.
  fromEnv: (text: string) => (text === 'true' ? true : text === 'false' ? false : text),
};
