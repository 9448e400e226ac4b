import type { LookupAddress, LookupOptions } from 'node:dns';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Agent } from 'undici';
import { AppConfig } from '../../config/app-config.js';
import type { CheckedTarget } from './ssrf-guard.js';

/** Addresses whose connections are kept for reuse; the least recently used are closed past this. */
const MAX_AGENTS = 256;
const KEEP_ALIVE_MS = 30_000;

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * One undici Agent per address the SSRF guard checked, whose every connection goes to that address
 * and no other: its `lookup` answers the URL's host name with the checked address, so DNS is not
 * asked again between the check and the connection (no rebinding), while the request still names
 * the host and TLS verifies the certificate against it (SNI = the URL's host). Keyed by address, so
 * keep-alive connections are reused only where they lead to the same address.
 */
@Injectable()
export class PinnedAgents implements OnApplicationShutdown {
  private readonly agents = new LRUCache<string, Agent>({ max: MAX_AGENTS, dispose: (agent) => void agent.close() });

  constructor(private readonly config: AppConfig) {}

  for(target: CheckedTarget): Agent {
    const key = `${target.family}:${target.address}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const { address, family } = target;
      const lookup = (_host: string, options: LookupOptions, callback: LookupCallback) => {
        if (options.all) callback(null, [{ address, family }]);
        else callback(null, address, family);
      };
      agent = new Agent({
        connect: { lookup, timeout: this.config.webhookAttemptTimeoutMs },
        headersTimeout: this.config.webhookAttemptTimeoutMs,
        bodyTimeout: this.config.webhookAttemptTimeoutMs,
        keepAliveTimeout: KEEP_ALIVE_MS,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  onApplicationShutdown(): void {
    this.agents.clear();
  }
}
