import type { ChangeNotifications, WatchedTable } from './change-notifications.js';

/**
 * Answers read from Postgres, kept in memory for as long as nothing says they changed: a change to a
 * row of `table` (by any path: triggers announce it) drops that row's entry, a TRUNCATE or a
 * reconnect of the listener drops them all, and while the listener is not known to be listening
 * every read goes to Postgres and nothing is kept. At most `maxEntries`, the least recently used go
 * first. `undefined` (nothing found) is never kept.
 */
export class NotifiedCache<V> {
  private readonly entries = new Map<string, V>();
  /** Counts changes, so that a read which raced one is not kept: it may have seen the row before it. */
  private changes = 0;

  constructor(
    private readonly notifications: ChangeNotifications,
    table: WatchedTable,
    private readonly maxEntries: number,
  ) {
    notifications.watch(table, (key) => this.forget(key));
  }

  get(key: string, load: () => Promise<V>): Promise<V>;
  get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined>;
  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (!this.notifications.listening) return load();
    const kept = this.entries.get(key);
    if (kept !== undefined) {
      // Moved to the end: the Map's order is then least recently used first.
      this.entries.delete(key);
      this.entries.set(key, kept);
      return kept;
    }
    const changesBefore = this.changes;
    const value = await load();
    if (value !== undefined && this.changes === changesBefore && this.notifications.listening) {
      this.entries.set(key, value);
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }

  private forget(key: string | undefined): void {
    this.changes++;
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }
}
