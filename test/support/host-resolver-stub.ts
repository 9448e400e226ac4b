import { HostResolver, type ResolvedAddress } from '../../src/webhooks/outbound/host-resolver.js';
import type { Stack } from './harness.js';

/** A public address (documentation prefixes are refused by the guard, so a real public one). */
export const PUBLIC_V4 = '93.184.215.14';
export const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

/** Answers from a table instead of DNS; a name missing from it resolves to `fallback`, or not at all. */
export class TableResolver extends HostResolver {
  constructor(
    readonly table: Record<string, string[]> = {},
    private readonly fallback?: string[],
  ) {
    super();
  }

  async resolve(host: string): Promise<ResolvedAddress[]> {
    const addresses = this.table[host] ?? this.fallback;
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }
}

/**
 * Puts a table in place of the DNS behind the running stack's SSRF guard (the one HostResolver
 * instance the guard was given), so no test asks DNS or reaches a private range. Returns the table's
 * resolver: a test may change its table as it goes.
 */
export function stubHostResolver(stack: Stack, table: Record<string, string[]>, fallback?: string[]): TableResolver {
  const stub = new TableResolver(table, fallback);
  stack.app.get(HostResolver).resolve = (host) => stub.resolve(host);
  return stub;
}
