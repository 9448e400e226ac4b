import type { ProviderControl } from '../console-providers.service.js';
import { badge, time } from './format.js';
import { html, type SafeHtml } from './html.js';
import { csrfField, page } from './layout.js';

function control(csrf: string, p: ProviderControl): SafeHtml {
  const lanes = p.lanes.map(
    (l) => html`<tr><td>${l.mode}</td><td>${badge(l.breaker)}${l.breaker === 'half-open' ? ' (its next call is the probe)' : ''}</td><td class="num">${l.inFlight}</td><td class="num">${l.queued}</td></tr>`,
  );
  const action = `/console/providers/${encodeURIComponent(p.provider)}/kill-switch`;
  const form = p.enabled
    ? html`<form method="post" action="${action}" class="switch">${csrfField(csrf)}
        <input type="hidden" name="enabled" value="false">
        <label>Reason <input name="reason" required maxlength="500" placeholder="why payments through ${p.provider} stop"></label>
        <button type="submit" class="danger">Switch off</button>
      </form>`
    : html`<form method="post" action="${action}" class="switch">${csrfField(csrf)}
        <input type="hidden" name="enabled" value="true">
        <label>Reason <input name="reason" maxlength="500" placeholder="optional"></label>
        <button type="submit">Switch on</button>
      </form>`;
  return html`<section class="provider" data-provider="${p.provider}">
      <h2>${p.provider}</h2>
      <p>Kill switch: ${badge(p.enabled ? 'on' : 'off')} ${p.enabled ? 'payments and refunds go through' : 'new payments and refunds are refused (503 provider-disabled)'}${p.reason ? html` · reason: <q>${p.reason}</q>` : ''}${p.updatedAt ? html` · changed ${time(p.updatedAt)}` : ''}</p>
      ${form}
      ${lanes.length > 0
        ? html`<table class="list"><thead><tr><th>Mode</th><th>Breaker</th><th>Calls in flight</th><th>Queued</th></tr></thead><tbody>${lanes}</tbody></table>`
        : html`<p class="sub">No lane of this instance goes through ${p.provider}.</p>`}
    </section>`;
}

export function providersPage(csrf: string, providers: ProviderControl[], notice?: string): SafeHtml {
  return page(
    { title: 'Providers', csrf, section: 'providers', notice },
    html`<p class="hint">The kill switch is shared by every instance (each learns of a change within a second). Breakers and bulkheads are per instance: this is the one that answered this page.</p>
    ${providers.map((p) => control(csrf, p))}`,
  );
}
