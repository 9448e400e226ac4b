/** What a client has spent of its budget in its current window. */
export interface Spent {
  used: number;
  /** When the window ends (ms since the epoch); the budget is whole again from then on. */
  endsAt: number;
}

/**
 * Budgets kept in this process: a fixed window per client, opened by its first request. Counting is a
 * Map lookup, done synchronously: @fastify/rate-limit's own store answers through a promise and an LRU
 * on every request, which cost replays 17–41 % of their throughput (one server, the limit alone on).
 *
 * Every window lasts as long, so the Map (in insertion order) holds them in the order they end: the
 * ended ones are dropped from its front as new ones open, and past `capacity` clients in one window
 * the oldest window is dropped early (that client starts a fresh budget), keeping memory bounded.
 */
export class MemoryBudgets {
  private readonly windows = new Map<string, Spent>();

  constructor(
    private readonly windowMs: number,
    private readonly capacity: number,
  ) {}

  spend(client: string, now: number): Spent {
    const open = this.windows.get(client);
    if (open !== undefined && open.endsAt > now) {
      open.used++;
      return open;
    }
    // Re-inserted, so that it moves to the end, where the latest windows are.
    if (open !== undefined) this.windows.delete(client);
    this.dropEnded(now);
    const spent = { used: 1, endsAt: now + this.windowMs };
    this.windows.set(client, spent);
    return spent;
  }

  /** What the client has spent in its open window, without spending; undefined when it has none. */
  peek(client: string, now: number): Spent | undefined {
    const open = this.windows.get(client);
    return open !== undefined && open.endsAt > now ? open : undefined;
  }

  /** Clients with a window still counted. */
  get size(): number {
    return this.windows.size;
  }

  private dropEnded(now: number): void {
    for (const [client, spent] of this.windows) {
      if (spent.endsAt > now && this.windows.size < this.capacity) return;
      this.windows.delete(client);
    }
  }
}
