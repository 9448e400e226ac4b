import type { InboxStatus } from '../../webhooks/inbound/inbox.repository.js';
import type { InboxPage } from '../console-webhooks.service.js';
import { badge, code, time } from './format.js';
import { href, html, type SafeHtml } from './html.js';
import { csrfField, page } from './layout.js';

export const INBOX_STATUSES: readonly InboxStatus[] = ['received', 'applied', 'ignored', 'dead'];

export function inboxPage(csrf: string, status: InboxStatus | undefined, before: string | undefined, result: InboxPage, notice?: string): SafeHtml {
  const filters = [undefined, ...INBOX_STATUSES].map((s) => {
    const label = s ?? 'all';
    return s === status ? html`<a href="${href('/console/inbox', { status: s })}" aria-current="page">${label}</a>` : html`<a href="${href('/console/inbox', { status: s })}">${label}</a>`;
  });
  const rows = result.rows.map(
    (e) => html`<tr data-inbox-id="${e.id}">
        <td>${e.id}</td>
        <td>${time(e.received_at)}</td>
        <td>${e.provider}</td>
        <td>${code(e.event_id)}</td>
        <td>${e.type}</td>
        <td>${badge(e.status)}</td>
        <td class="num">${e.attempts}</td>
        <td>${e.outcome ?? ''}${e.last_error ? html`<span class="error-text">${e.last_error}</span>` : ''}</td>
        <td>${e.status === 'received' ? time(e.next_attempt_at) : time(e.processed_at)}</td>
        <td><details><summary>payload</summary><pre class="json">${e.payload}</pre></details></td>
        <td>${e.status === 'dead'
          ? html`<form method="post" action="/console/inbox/${e.id}/redrive">${csrfField(csrf)}<button type="submit">Redrive</button></form>`
          : ''}</td>
      </tr>`,
  );
  return page(
    { title: 'Provider inbox', csrf, section: 'inbox', notice },
    html`<p class="counts">${result.open.received} to apply · ${result.open.dead} dead (given up after INBOX_MAX_ATTEMPTS tries; a redrive applies it again at the next pass)</p>
    <p class="filters">${filters}</p>
    ${result.rows.length === 0
      ? html`<p class="empty">No provider event here.</p>`
      : html`<table class="list" id="inbox">
      <thead><tr><th>#</th><th>Received</th><th>Provider</th><th>Event</th><th>Type</th><th>Status</th><th>Tries</th><th>Outcome / last error</th><th>Next try / done</th><th></th><th></th></tr></thead>
      <tbody>${rows}</tbody>
    </table>`}
    <p class="paging">
      ${before ? html`<a href="${href('/console/inbox', { status })}">← Newest</a>` : ''}
      ${result.older ? html`<a href="${href('/console/inbox', { status, before: result.older })}" rel="next">Older →</a>` : ''}
    </p>`,
  );
}
