/**
 * `@ValidateIf(present)`: an absent field is optional, but an explicit `null` is validated (and so
 * refused) — the spec calls these fields non-nullable, and `"amount": null` must not mean "everything".
 */
export const present = (_: object, value: unknown): boolean => value !== undefined;
