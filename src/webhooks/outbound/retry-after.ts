/**
 * How long a `Retry-After` header asks to wait, in ms: delay-seconds or an HTTP date (RFC 9110).
 * Undefined when absent or unreadable: the schedule decides alone.
 */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^[0-9]+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
