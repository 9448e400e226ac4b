import type { DeadLettersView } from '../console-webhooks.service.js';
import { html, type SafeHtml } from './html.js';
import { csrfField, page } from './layout.js';
import { DELIVERY_HEADINGS, deliveryRow } from './outbox.page.js';

export function deadLettersPage(csrf: string, view: DeadLettersView, notice?: string): SafeHtml {
  const rows = view.deliveries.map((d) =>
    deliveryRow(
      d,
      html`<form method="post" action="/console/deliveries/${d.id}/redeliver">${csrfField(csrf)}<button type="submit">Redeliver</button></form>`,
    ),
  );
  return page(
    { title: 'Dead letters', csrf, section: 'dead-letters', notice },
    html`<p class="counts">${view.count} webhook deliveries given up on (every attempt of their schedule failed, or the endpoint answered 410). Redeliver queues one again at once with a fresh schedule; an endpoint that is disabled gets it once it is enabled again.</p>
    ${rows.length === 0
      ? html`<p class="empty">No dead delivery.</p>`
      : html`<table class="list" id="dead-letters">${DELIVERY_HEADINGS}<tbody>${rows}</tbody></table>`}`,
  );
}
