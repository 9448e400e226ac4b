import { Injectable } from '@nestjs/common';
import { MemoryBudgets } from '../http/rate-limit-memory.js';

/** Wrong tokens an address may send in a window before its logins are refused until the window ends. */
export const LOGIN_FAILURES_ALLOWED = 10;
const WINDOW_MS = 15 * 60_000;
/** Addresses counted at once; past it, the oldest window is forgotten early. */
const ADDRESSES = 10_000;

/**
 * Wrong admin tokens by client address, in this process. The console sits outside the API's per-key
 * budgets, so without this an address could try tokens as fast as the server answers. Only failures
 * count: an operator who logs in often is never refused.
 */
@Injectable()
export class ConsoleLoginAttempts {
  private readonly failures = new MemoryBudgets(WINDOW_MS, ADDRESSES);

  /** Seconds until the address may try again, or undefined when it may now. */
  refusedFor(address: string, now = Date.now()): number | undefined {
    const spent = this.failures.peek(address, now);
    return spent !== undefined && spent.used >= LOGIN_FAILURES_ALLOWED ? Math.ceil((spent.endsAt - now) / 1000) : undefined;
  }

  failed(address: string, now = Date.now()): void {
    this.failures.spend(address, now);
  }
}
