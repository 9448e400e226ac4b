import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { AuthContext } from '../auth/auth-context.js';
import { AppConfig } from '../config/app-config.js';
import type { StoredResponse } from './stored-response.js';

/** A finished key as a retry of the same request needs it: which request it answers, and the answer. */
export interface FinishedKey {
  fingerprint: string;
  response: StoredResponse;
}

/**
 * Finished keys' answers, in memory. A finished key's row never changes again until the sweeper
 * deletes it after its TTL, so an entry can be served without asking Postgres as long as it expires
 * before that: each one lives until its key's TTL, counted from when the key was first stored.
 * Bounded by the bytes it holds; the least recently used entries go first.
 */
@Injectable()
export class ReplayCache {
  private readonly entries: LRUCache<string, FinishedKey> | undefined;

  constructor(private readonly config: AppConfig) {
    if (config.replayCacheMaxBytes > 0) {
      this.entries = new LRUCache<string, FinishedKey>({
        maxSize: config.replayCacheMaxBytes,
        // Strings count twice their length (UTF-16), plus a rough fixed cost per entry.
        sizeCalculation: (entry, key) => 2 * (key.length + entry.response.body.length) + 512,
      });
    }
  }

  get(auth: AuthContext, key: string): FinishedKey | undefined {
    return this.entries?.get(cacheKey(auth, key));
  }

  remember(auth: AuthContext, key: string, createdAt: Date, entry: FinishedKey): void {
    if (!this.entries) return;
    const ttl = createdAt.getTime() + this.config.idempotencyTtlHours * 3_600_000 - Date.now();
    if (ttl > 0) this.entries.set(cacheKey(auth, key), entry, { ttl });
  }
}

function cacheKey(auth: AuthContext, key: string): string {
  return `${auth.merchantId} ${auth.mode} ${key}`;
}
