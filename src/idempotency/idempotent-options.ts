export const IDEMPOTENT = Symbol('idempotent');

export interface IdempotentOptions {
  /** The body's DTO: validated before the key is claimed, so a refused request stores nothing. */
  body: new () => object;
}
