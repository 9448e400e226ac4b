import { CURRENCY_EXPONENTS } from '../../payments/currencies.js';
import { html, type SafeHtml } from './html.js';

/** UTC to the millisecond: the timeline's order is what matters, and instances may sit in any zone. */
export function time(at: Date | null | undefined): SafeHtml {
  if (!at) return html`<span class="none">—</span>`;
  const iso = at.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 23)}</time>`;
}

/** Minor units shown in major units of the currency (5000 eur → 50.00 EUR). */
export function money(minor: string | number, currency: string): string {
  const exponent = CURRENCY_EXPONENTS[currency] ?? 0;
  const digits = String(minor).padStart(exponent + 1, '0');
  const major = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${major} ${currency.toUpperCase()}`;
}

const BADGES = new Set([
  'pending', 'processing', 'succeeded', 'failed', 'sent', 'unknown', 'not_found', 'rejected', 'transient',
  'received', 'applied', 'ignored', 'dead', 'delivered', 'enabled', 'disabled', 'closed', 'open', 'half-open', 'on', 'off',
]);

/** A status as a badge; its class comes from a fixed list, never from the value itself. */
export function badge(status: string): SafeHtml {
  return html`<span class="badge ${BADGES.has(status) ? `badge-${status}` : 'badge-other'}">${status}</span>`;
}

export function code(text: string | null | undefined): SafeHtml {
  return text === null || text === undefined || text === '' ? html`<span class="none">—</span>` : html`<code>${text}</code>`;
}

export function json(value: unknown): SafeHtml {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}
