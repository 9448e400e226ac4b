import type { PaymentFilter } from '../console-payments.repository.js';
import type { PaymentsPage } from '../console-payments.service.js';
import { badge, code, money, time } from './format.js';
import { href, html, type SafeHtml } from './html.js';
import { page } from './layout.js';

const STATUSES = ['pending', 'processing', 'succeeded', 'failed'];

export function paymentsPage(csrf: string, filter: PaymentFilter, result: PaymentsPage): SafeHtml {
  const search = html`<form method="get" action="/console" class="search" role="search">
      <label>Payment id or operation id <input name="q" value="${filter.q ?? ''}" maxlength="255" placeholder="pay_… or the Idempotency-Key"></label>
      <label>Status <select name="status">
        <option value="">any</option>
        ${STATUSES.map((s) => (s === filter.status ? html`<option value="${s}" selected>${s}</option>` : html`<option value="${s}">${s}</option>`))}
      </select></label>
      <label>Merchant <input name="merchant" value="${filter.merchant ?? ''}" maxlength="40" placeholder="mer_…"></label>
      <button type="submit">Search</button>
    </form>`;
  const rows = result.rows.map(
    (p) => html`<tr>
        <td>${time(p.created_at)}</td>
        <td><a href="${href(`/console/payments/${encodeURIComponent(p.id)}`)}">${p.id}</a></td>
        <td>${code(p.merchant_id)}</td>
        <td>${p.mode}</td>
        <td>${code(p.operation_id)}</td>
        <td class="num">${money(p.amount, p.currency)}</td>
        <td>${badge(p.status)}</td>
        <td>${p.description ?? ''}</td>
      </tr>`,
  );
  const keep = { q: filter.q, status: filter.status, merchant: filter.merchant };
  const paging = html`<p class="paging">
      ${filter.before ? html`<a href="${href('/console', keep)}">← Newest</a>` : ''}
      ${result.older ? html`<a href="${href('/console', { ...keep, before: result.older })}" rel="next">Older →</a>` : ''}
    </p>`;
  return page(
    { title: 'Payments', csrf, section: 'payments' },
    html`${search}
    ${result.rows.length === 0
      ? html`<p class="empty">No payment matches.</p>`
      : html`<table class="list" id="payments">
      <thead><tr><th>Created</th><th>Payment</th><th>Merchant</th><th>Mode</th><th>Operation id</th><th>Amount</th><th>Status</th><th>Description</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>`}
    ${paging}`,
  );
}
