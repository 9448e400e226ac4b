import { ValidateBy, type ValidationOptions } from 'class-validator';

export const METADATA_LIMITS = { keys: 20, keyLength: 40, valueLength: 500 } as const;

/** Why `value` is not valid metadata, or undefined when it is. */
export function metadataProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object of string values';
  const entries = Object.entries(value);
  if (entries.length > METADATA_LIMITS.keys) return `may have at most ${METADATA_LIMITS.keys} keys`;
  for (const [key, item] of entries) {
    // Characters as the spec's maxLength counts them, code points: an emoji is one, not two UTF-16 units.
    const keyLength = [...key].length;
    if (keyLength === 0 || keyLength > METADATA_LIMITS.keyLength) return `keys must be 1 to ${METADATA_LIMITS.keyLength} characters ("${key.slice(0, 50)}")`;
    if (typeof item !== 'string') return `values must be strings ("${key}")`;
    if ([...item].length > METADATA_LIMITS.valueLength) return `values may be at most ${METADATA_LIMITS.valueLength} characters ("${key}")`;
  }
  return undefined;
}

/** An empty value is kept as sent on a create; on an update it removes the key (see update-payment.operation.ts). */
export function IsMetadata(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMetadata',
      validator: {
        validate: (value) => metadataProblem(value) === undefined,
        defaultMessage: (args) => `${args?.property} ${metadataProblem(args?.value)}`,
      },
    },
    validationOptions,
  );
}
