export const IDEMPOTENT = Symbol('idempotent');

export interface IdempotentOptions {
  /**
   * The body's DTO: validated before the key is claimed, so a refused request stores nothing.
   * Absent for an operation that takes no fields: its body may be absent or `{}`, and any field is refused.
   */
  body?: new () => object;
  /** The body may be absent, meaning `{}` (every field of `body` is optional). */
  bodyOptional?: boolean;
  /**
   * The operation claims the key itself, in the statement of its first write, and gets the
   * unclaimed call through `@IdempotencyCall()`. Otherwise the key is claimed before the handler.
   */
  claimedByOperation?: boolean;
}
