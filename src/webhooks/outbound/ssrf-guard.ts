import { lookup } from 'node:dns/promises';
import { Injectable } from '@nestjs/common';

/** Where a delivery may connect: the URL, and the one address checked for it. */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** An endpoint URL refused by the guard; its message says why, for the merchant. */
export class UnsafeUrlError extends Error {}

/**
 * Decides whether a merchant's endpoint URL may be called, at creation and again at every delivery,
 * and pins the address it checked so the connection goes there and nowhere else.
 * PLACEHOLDER: checks nothing yet (the SSRF work replaces this body, keeping the signature).
 */
@Injectable()
export class SsrfGuard {
  async check(raw: string): Promise<CheckedTarget> {
    const url = new URL(raw);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const found = await lookup(host);
    return { url, address: found.address, family: found.family as 4 | 6 };
  }
}
