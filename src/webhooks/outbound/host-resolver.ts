import { lookup } from 'node:dns/promises';
import { Injectable } from '@nestjs/common';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * The port through which the SSRF guard learns where a host name points. An abstract class so it
 * is its own DI token: the tests put a table in its place, so no test depends on DNS or sends
 * anything to a private range.
 */
export abstract class HostResolver {
  /** Every address `host` resolves to, A and AAAA; rejects when it resolves to none. */
  abstract resolve(host: string): Promise<ResolvedAddress[]>;
}

/**
 * The system resolver (getaddrinfo, as a connection would use: /etc/hosts included), asked for all
 * addresses: the guard refuses a name if any one of them is unsafe, since a connection may use any.
 */
@Injectable()
export class DnsHostResolver extends HostResolver {
  async resolve(host: string): Promise<ResolvedAddress[]> {
    const found = await lookup(host, { all: true, order: 'verbatim' });
    return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
  }
}
