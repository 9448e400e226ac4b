/** A `Retry-After` is honoured up to this: an endpoint cannot park a delivery for longer. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * When the next attempt of a failed delivery is due, in ms from now, or undefined when the schedule
 * is used up (the delivery is `dead`). `attemptsMade` counts the attempts of the current schedule,
 * the failed one included: after the 1st the wait is schedule[0], and so on. A `Retry-After` that
 * asks for longer than the schedule wins.
 */
export function nextAttemptDelayMs(schedule: readonly number[], attemptsMade: number, retryAfter: number | undefined): number | undefined {
  const scheduled = schedule[attemptsMade - 1];
  if (scheduled === undefined) return undefined;
  return Math.max(scheduled, Math.min(retryAfter ?? 0, MAX_RETRY_AFTER_MS));
}
