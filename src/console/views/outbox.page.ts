import type { Backlog, QueuedDelivery } from '../console-webhooks.repository.js';
import type { OutboxView } from '../console-webhooks.service.js';
import { badge, code, time } from './format.js';
import { href, html, type SafeHtml } from './html.js';
import { page } from './layout.js';

function backlog(what: string, b: Backlog, since: string): SafeHtml {
  return html`<p class="counts">${b.count} ${what}${b.oldest ? html` · ${since} ${time(b.oldest)}` : ''}</p>`;
}

/** A delivery's row, shared by the outbox and the dead letters; `action` is the last cell. */
export function deliveryRow(d: QueuedDelivery, action: SafeHtml | string = ''): SafeHtml {
  return html`<tr data-delivery-id="${d.id}">
      <td>${code(d.id)}</td>
      <td>${code(d.event_id)} ${d.event_type}</td>
      <td><a href="${href(`/console/payments/${encodeURIComponent(d.payment_id)}`)}">${d.payment_id}</a></td>
      <td><span class="url">${d.url}</span><br><span class="sub">${code(d.endpoint_id)} ${d.endpoint_status === 'disabled' ? html`${badge('disabled')} ${d.disabled_reason ?? ''}` : ''}</span></td>
      <td>${badge(d.status)}</td>
      <td class="num">${d.attempts}</td>
      <td>${d.last_error ?? (d.last_http_status === null ? '' : `HTTP ${d.last_http_status}`)}</td>
      <td>${d.status === 'pending' ? time(d.next_attempt_at) : time(d.updated_at)}</td>
      <td>${action}</td>
    </tr>`;
}

export const DELIVERY_HEADINGS = html`<thead><tr><th>Delivery</th><th>Event</th><th>Payment</th><th>Endpoint</th><th>Status</th><th>Attempts</th><th>Last answer</th><th>Due / since</th><th></th></tr></thead>`;

export function outboxPage(csrf: string, view: OutboxView): SafeHtml {
  const events = view.events.map(
    (e) => html`<tr>
        <td>${code(e.id)}</td>
        <td>${time(e.created_at)}</td>
        <td>${e.type}</td>
        <td><a href="${href(`/console/payments/${encodeURIComponent(e.payment_id)}`)}">${e.payment_id}</a>${e.refund_id ? html` · ${e.refund_id}` : ''}</td>
        <td>${code(e.merchant_id)} ${e.mode}</td>
        <td class="num">${e.sequence}</td>
      </tr>`,
  );
  return page(
    { title: 'Outbox', csrf, section: 'outbox' },
    html`<h2>Events not fanned out yet</h2>
    ${backlog('events waiting for the relay', view.eventsBacklog, 'the oldest written')}
    ${events.length === 0
      ? html`<p class="empty">The relay has fanned out every event.</p>`
      : html`<table class="list" id="outbox-events"><thead><tr><th>Event</th><th>Written</th><th>Type</th><th>Payment</th><th>Merchant</th><th>Sequence</th></tr></thead><tbody>${events}</tbody></table>`}
    <h2>Deliveries waiting for an attempt</h2>
    ${backlog('pending deliveries', view.deliveriesBacklog, 'the longest due since')}
    ${view.deliveries.length === 0
      ? html`<p class="empty">No delivery is pending.</p>`
      : html`<table class="list" id="outbox-deliveries">${DELIVERY_HEADINGS}<tbody>${view.deliveries.map((d) => deliveryRow(d))}</tbody></table>`}`,
  );
}
