import { Refusal } from '../../errors/problem.js';
import { type SsrfGuard, UnsafeUrlError } from '../outbound/ssrf-guard.js';

/**
 * The SSRF guard's verdict on a URL a merchant sends, as the request's answer. Asked before any
 * transaction (it may wait on DNS) and a Refusal: a refused URL leaves nothing behind, the key's
 * claim included, since a DNS answer can change and a retry with the same key must be judged afresh.
 */
export async function checkEndpointUrl(guard: SsrfGuard, url: string): Promise<void> {
  try {
    await guard.check(url);
  } catch (error) {
    if (!(error instanceof UnsafeUrlError)) throw error;
    throw new Refusal('webhook-url-unsafe', `The webhook URL cannot be used: ${error.message}`, [{ field: 'url', message: error.message }]);
  }
}
