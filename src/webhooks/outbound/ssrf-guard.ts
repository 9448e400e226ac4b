import { BlockList, isIP } from 'node:net';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { HostResolver, type ResolvedAddress } from './host-resolver.js';

/** Where a delivery may connect: the URL, and the one address checked for it. */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** An endpoint URL refused by the guard; its message says why, for the merchant. */
export class UnsafeUrlError extends Error {}

interface Range {
  family: 4 | 6;
  cidr: string;
  kind: string;
  list: BlockList;
}

function range(family: 4 | 6, cidr: string, kind: string): Range {
  const [network, bits] = cidr.split('/');
  const list = new BlockList();
  list.addSubnet(network, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  return { family, cidr, kind, list };
}

/**
 * Every range a merchant's URL must not reach (IANA's special-purpose registries). A BlockList
 * matches IPv4 rules against v4-mapped IPv6 and an IPv6 rule such as ::ffff:0:0/96 against every
 * IPv4 address, so each address is only ever checked against the ranges of its own family.
 */
const REFUSED: Range[] = [
  range(4, '0.0.0.0/8', 'unspecified ("this network")'),
  range(4, '10.0.0.0/8', 'private'),
  range(4, '100.64.0.0/10', 'carrier-grade NAT (shared)'),
  range(4, '127.0.0.0/8', 'loopback'),
  range(4, '169.254.0.0/16', 'link-local (cloud metadata)'),
  range(4, '172.16.0.0/12', 'private'),
  range(4, '192.0.0.0/24', 'IETF protocol assignment'),
  range(4, '192.0.2.0/24', 'documentation (TEST-NET-1)'),
  range(4, '192.88.99.0/24', '6to4 relay anycast'),
  range(4, '192.168.0.0/16', 'private'),
  range(4, '198.18.0.0/15', 'benchmarking'),
  range(4, '198.51.100.0/24', 'documentation (TEST-NET-2)'),
  range(4, '203.0.113.0/24', 'documentation (TEST-NET-3)'),
  range(4, '224.0.0.0/4', 'multicast'),
  range(4, '240.0.0.0/4', 'reserved or broadcast'),
  range(6, '::/128', 'unspecified'),
  range(6, '::1/128', 'loopback'),
  range(6, '::ffff:0:0/96', 'IPv4-mapped'),
  // Addresses that carry an IPv4 address inside, which a gateway may turn into a private one.
  range(6, '::/96', 'IPv4-compatible'),
  range(6, '64:ff9b::/96', 'NAT64'),
  range(6, '64:ff9b:1::/48', 'NAT64 (local use)'),
  range(6, '2001::/32', 'Teredo'),
  range(6, '2002::/16', '6to4'),
  range(6, '100::/64', 'discard-only'),
  range(6, '2001::/23', 'IETF protocol assignment'),
  range(6, '2001:db8::/32', 'documentation'),
  range(6, '3fff::/20', 'documentation'),
  range(6, 'fc00::/7', 'unique-local (private)'),
  range(6, 'fe80::/10', 'link-local'),
  range(6, 'fec0::/10', 'site-local'),
  range(6, 'ff00::/8', 'multicast'),
];

/** IPv6 outside global unicast (2000::/3) is reserved by IANA: nothing a webhook may live on. */
const GLOBAL_UNICAST_V6 = range(6, '2000::/3', 'global unicast');

/** Why `address` may not be called, or undefined when it is a public address. */
export function refusedKind(address: string, family: 4 | 6): string | undefined {
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const hit = REFUSED.find((r) => r.family === family && r.list.check(address, type));
  if (hit) return `${hit.kind} (${hit.cidr})`;
  if (family === 6 && !GLOBAL_UNICAST_V6.list.check(address, type)) return 'reserved (outside 2000::/3)';
  return undefined;
}

/** RFC 6761: these names are loopback wherever they are resolved, whatever a resolver says. */
function isLocalhostName(host: string): boolean {
  const name = host.replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Decides whether a merchant's endpoint URL may be called, at creation and again at every delivery,
 * and pins the address it checked so the connection goes there and nowhere else (a name that
 * resolves to a public address now and a private one a second later cannot be used to get in).
 * Hosts listed in WEBHOOK_ALLOWED_HOSTS (the local demo) may use plain http and any address.
 */
@Injectable()
export class SsrfGuard {
  constructor(
    private readonly resolver: HostResolver,
    private readonly config: AppConfig,
  ) {}

  async check(raw: string): Promise<CheckedTarget> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UnsafeUrlError('The URL does not parse as an absolute URL.');
    }
    if (url.username !== '' || url.password !== '') throw new UnsafeUrlError('The URL must not carry a user name or password.');
    // The WHATWG parser has already read decimal, octal and hex IPv4 forms (2130706433, 0x7f.1) as dotted quads.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const allowed = this.config.webhookAllowedHosts.some((entry) => entry.replace(/^\[|\]$/g, '') === host);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) {
      throw new UnsafeUrlError(
        url.protocol === 'http:' ? `The URL must use https (plain http only for hosts an operator allowed; ${host} is not one).` : 'The URL must use https.',
      );
    }
    if (!allowed && isLocalhostName(host)) throw new UnsafeUrlError(`${host} is a loopback name.`);

    const addresses = await this.addressesOf(host);
    if (!allowed) {
      for (const { address, family } of addresses) {
        const kind = refusedKind(address, family);
        if (kind) throw new UnsafeUrlError(
            host === address ? `${host} is not a public address: ${kind}.` : `${host} resolves to ${address}, which is not a public address: ${kind}.`,
          );
      }
    }
    const [first] = addresses;
    return { url, address: first.address, family: first.family };
  }

  private async addressesOf(host: string): Promise<ResolvedAddress[]> {
    const literal = isIP(host);
    if (literal !== 0) return [{ address: host, family: literal === 6 ? 6 : 4 }];
    let found: ResolvedAddress[];
    try {
      found = await this.resolver.resolve(host);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new UnsafeUrlError(`${host} does not resolve${typeof code === 'string' ? ` (${code})` : ''}.`);
    }
    if (found.length === 0) throw new UnsafeUrlError(`${host} does not resolve.`);
    // A zone index (fe80::1%eth0) names an interface, not a different address.
    return found.map(({ address, family }) => ({ address: address.replace(/%.*$/, ''), family }));
  }
}
