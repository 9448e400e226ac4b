/**
 * `true` only when A and B have exactly the same property names. Used as
 * `true satisfies SameKeys<Dto, GeneratedType>` so a DTO that drifts from the contract fails tsc.
 */
export type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : never) : never;
