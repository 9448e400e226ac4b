/**
 * When something whose outcome is unknown is next asked about: base · 2^attempts, capped, with equal
 * jitter so payments or refunds that went unknown together do not all ask again together.
 */
export function reconcileDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, baseMs * 2 ** attempts);
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
}
