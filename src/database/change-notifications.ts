import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { AppConfig } from '../config/app-config.js';

/** Where the triggers of migration 1764200000000 announce a change, and what they name. */
const CHANNEL = 'idempay_cache';
export type WatchedTable = 'api_keys' | 'provider_settings';

/** How an operator finds this connection in pg_stat_activity (one per process). */
export const LISTENER_APPLICATION_NAME = 'idempay-listener';

/** Told the key of a row that changed, or undefined when any row may have: forget it, or everything. */
type Watcher = (key: string | undefined) => void;

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
/**
 * A connection can die without a word (a cut link, a NAT that forgot it): only a round trip tells.
 * Postgres hands a listening session every notification committed before one of its queries arrives
 * before it answers that query, so a heartbeat that came back proves nothing was missed up to when
 * it was sent. Memory is trusted for TRUST_MS after that only, so even a listener lost silently
 * serves a revoked key or a flipped switch for less than a second.
 */
const HEARTBEAT_MS = 250;
const TRUST_MS = 750;
/** A heartbeat unanswered this long: the connection is given up and a new one made. */
const DEAD_AFTER_MS = 2_000;
/** A server that no longer answers would never acknowledge our goodbye. */
const CLOSE_WAIT_MS = 1_000;

/**
 * One connection per process, outside the pool, that LISTENs for changes to the rows the caches
 * keep, reconnecting with backoff whenever it is lost. `listening` says whether memory may be
 * trusted: not while the connection is being made or is silent, and every watcher is told to forget
 * everything when it is (re)made, as changes made meanwhile were not heard.
 */
@Injectable()
export class ChangeNotifications implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeNotifications.name);
  private readonly watchers = new Map<string, Watcher[]>();
  /** Set once LISTEN is in place, unset as soon as the connection is gone. */
  private listener: pg.Client | undefined;
  /** When the last heartbeat that came back was sent. */
  private confirmedAt = 0;
  /** The connection being made or in use, for shutdown to end. */
  private current: pg.Client | undefined;
  private stopping = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly config: AppConfig) {}

  get listening(): boolean {
    return this.listener !== undefined && performance.now() - this.confirmedAt < TRUST_MS;
  }

  watch(table: WatchedTable, watcher: Watcher): void {
    this.watchers.set(table, [...(this.watchers.get(table) ?? []), watcher]);
  }

  onApplicationBootstrap(): void {
    this.running = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    if (this.current) await close(this.current);
    await this.running;
  }

  private async run(): Promise<void> {
    let delayMs = RECONNECT_MIN_MS;
    while (!this.stopping) {
      try {
        await this.listenUntilLost();
        delayMs = RECONNECT_MIN_MS;
      } catch (error) {
        // Once per outage (a loss is told where it happens): Postgres itself is likely away.
        if (delayMs === RECONNECT_MIN_MS && !this.stopping) this.logger.warn(`cannot listen for changes, caches bypassed: ${errorText(error)}`);
      }
      if (this.stopping) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delayMs = Math.min(delayMs * 2, RECONNECT_MAX_MS);
    }
  }

  /** Connects and listens; returns once the connection is lost, throws if it could not listen. */
  private async listenUntilLost(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.config.databaseUrl,
      application_name: LISTENER_APPLICATION_NAME,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    this.current = client;
    const lost = new Promise<void>((resolve) => client.once('end', resolve));
    // Without a handler, a connection error would crash the process; the 'end' that follows is what counts.
    client.on('error', () => void close(client));
    client.on('notification', ({ payload }) => this.dispatch(payload));
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      // A client ended while connecting (shutdown, a dead connection) never settles its connect().
      await Promise.race([client.connect(), lost.then(() => Promise.reject(new Error('the connection ended while it was being made')))]);
      const sentAt = performance.now();
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.stopping) return;
      this.confirmedAt = sentAt;
      this.listener = client;
      this.forgetEverything();
      heartbeat = setInterval(this.heartbeat(client), HEARTBEAT_MS);
      await lost;
      if (!this.stopping) this.logger.warn('lost the connection listening for changes; caches bypassed until it is back');
    } catch (error) {
      await close(client);
      throw error;
    } finally {
      clearInterval(heartbeat);
      this.listener = undefined;
      this.forgetEverything();
    }
  }

  private heartbeat(client: pg.Client): () => void {
    let inFlightSince: number | undefined;
    return () => {
      if (inFlightSince !== undefined) {
        if (performance.now() - inFlightSince > DEAD_AFTER_MS) void close(client);
        return;
      }
      const sentAt = performance.now();
      inFlightSince = sentAt;
      client.query('SELECT 1').then(
        () => {
          inFlightSince = undefined;
          if (this.listener === client) this.confirmedAt = sentAt;
        },
        // It failed with its connection, whose 'end' is handled above.
        () => undefined,
      );
    };
  }

  private dispatch(payload: string | undefined): void {
    const change = parseChange(payload);
    if (!change) return this.forgetEverything();
    for (const watcher of this.watchers.get(change.table) ?? []) watcher(change.key);
  }

  private forgetEverything(): void {
    for (const watchers of this.watchers.values()) for (const watcher of watchers) watcher(undefined);
  }
}

async function close(client: pg.Client): Promise<void> {
  const cut = setTimeout(() => client.connection.stream.destroy(), CLOSE_WAIT_MS);
  try {
    await client.end();
  } finally {
    clearTimeout(cut);
  }
}

/** Our triggers' payload; anything else (anyone may NOTIFY the channel) says nothing of what changed. */
function parseChange(payload: string | undefined): { table: string; key: string | undefined } | undefined {
  try {
    const { table, key } = JSON.parse(payload ?? '') as { table?: unknown; key?: unknown };
    return typeof table === 'string' ? { table, key: typeof key === 'string' ? key : undefined } : undefined;
  } catch {
    return undefined;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
