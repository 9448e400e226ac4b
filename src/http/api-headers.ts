/**
 * On every answer of the API: a browser never guesses another type than the one we send, and no
 * cache (browser, proxy, CDN) keeps an answer about a merchant's payments. Public files that set
 * their own `Cache-Control` keep it.
 */
export const API_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' } as const;

/** A URL (or route template) of the API's versioned routes, where merchants' requests go. */
export function isApiUrl(url: string): boolean {
  return url.startsWith('/v1/') || url.startsWith('/v2/');
}
