export const IDEMPOTENT = Symbol('idempotent');

export interface IdempotentOptions {
  /** The body's DTO: validated before the key is claimed, so a refused request stores nothing. */
  body: new () => object;
  /**
   * The operation claims the key itself, in the statement of its first write, and gets the
   * unclaimed call through `@IdempotencyCall()`. Otherwise the key is claimed before the handler.
   */
  claimedByOperation?: boolean;
}
