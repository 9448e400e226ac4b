import type { PaymentTimeline, TimelineEntry } from '../console-payments.service.js';
import { badge, code, json, money, time } from './format.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

function ms(value: number | null): string {
  return value === null ? '—' : `${value} ms`;
}

/** What one entry says: a heading and its particulars. */
function describe(entry: TimelineEntry): [string, SafeHtml] {
  switch (entry.kind) {
    case 'key-claimed':
      return ['Idempotency key claimed', html`${entry.key.route} · key ${code(entry.key.key)}`];
    case 'key-unfinished':
      return [
        `Idempotency key at ${entry.key.recovery_point}`,
        entry.key.locked_at
          ? html`leased to a request since ${time(entry.key.locked_at)}`
          : html`released: a retry with the same key, or the completer, resumes it from this recovery point`,
      ];
    case 'key-finished':
      return ['Idempotency key finished', html`answer ${entry.key.response_status} stored; retries with key ${code(entry.key.key)} replay it`];
    case 'payment-created':
      return ['Payment created', html`${money(entry.payment.amount, entry.payment.currency)} · operation id ${code(entry.payment.operation_id)} · ${badge('pending')}`];
    case 'refund-created':
      return [
        `Refund ${entry.refund.id} created`,
        html`${money(entry.refund.amount, entry.refund.currency)} · operation id ${code(entry.refund.operation_id)}${entry.refund.reason ? html` · ${entry.refund.reason}` : ''} · now ${badge(entry.refund.status)}`,
      ];
    case 'provider-attempt': {
      const a = entry.attempt;
      return [
        `Provider ${a.operation}, attempt ${a.attempt}`,
        html`${badge(a.outcome)} · latency ${ms(a.latency_ms)}${a.waited_ms > 0 ? html` after waiting ${ms(a.waited_ms)}` : ''}${a.http_status === null ? '' : html` · HTTP ${a.http_status}`}${a.error ? html` · ${a.error}` : ''}
          <br><span class="sub">${a.provider} · provider key ${code(a.provider_key)}${a.refund_id ? html` · refund ${a.refund_id}` : ''}</span>`,
      ];
    }
    case 'transition':
      return [`${entry.transition.from_status} → ${entry.transition.to_status}`, html`${badge(entry.transition.to_status)} ${entry.transition.reason}`];
    case 'event':
      return [
        `Event ${entry.event.type}`,
        html`${code(entry.event.id)} · sequence ${entry.event.sequence}${entry.event.refund_id ? html` · refund ${entry.event.refund_id}` : ''} · ${entry.event.published_at ? html`fanned out ${time(entry.event.published_at)}` : html`not fanned out yet`}`,
      ];
    case 'delivery': {
      const d = entry.delivery;
      const attempts = entry.attempts.map(
        (a) => html`<li>#${a.attempt} ${time(a.created_at)} · ${a.http_status === null ? 'no answer' : html`HTTP ${a.http_status}`} · ${ms(a.latency_ms)}${a.error && a.error !== `HTTP ${a.http_status}` ? html` · ${a.error}` : ''}</li>`,
      );
      return [
        'Webhook delivery',
        html`${badge(d.status)} ${code(d.id)} of ${code(d.event_id)} to <span class="url">${d.url}</span> (${code(d.endpoint_id)}) · ${d.attempts} attempt(s)${d.status === 'pending' ? html` · next ${time(d.next_attempt_at)}` : ''}
          ${attempts.length > 0 ? html`<ol class="attempts">${attempts}</ol>` : ''}`,
      ];
    }
  }
}

export function timelinePage(csrf: string, timeline: PaymentTimeline): SafeHtml {
  const p = timeline.payment;
  const rows = timeline.entries.map((entry) => {
    const [what, details] = describe(entry);
    return html`<tr data-kind="${entry.kind}"><td>${time(entry.at)}</td><th scope="row">${what}</th><td>${details}</td></tr>`;
  });
  const refunds = timeline.refunds.map(
    (r) => html`<tr><td>${code(r.id)}</td><td class="num">${money(r.amount, r.currency)}</td><td>${badge(r.status)}</td><td>${r.failure_code ?? ''} ${r.failure_message ?? ''}</td></tr>`,
  );
  return page(
    { title: `Payment ${p.id}`, csrf, section: 'payments' },
    html`<dl class="summary">
      <dt>Status</dt><dd>${badge(p.status)}${p.failure_code ? html` ${code(p.failure_code)} ${p.failure_message ?? ''}` : ''}</dd>
      <dt>Amount</dt><dd>${money(p.amount, p.currency)} (refunded ${money(p.amount_refunded, p.currency)})</dd>
      <dt>Merchant</dt><dd>${code(p.merchant_id)} · ${p.mode} mode</dd>
      <dt>Operation id</dt><dd>${code(p.operation_id)}${timeline.keyStored ? '' : html` <span class="sub">(its idempotency key was swept after its TTL; the payment keeps the operation id)</span>`}</dd>
      <dt>Provider key</dt><dd>${code(p.provider_key)}${p.provider_charge_id ? html` · charge ${code(p.provider_charge_id)}` : ''}</dd>
      <dt>Description</dt><dd>${p.description ?? html`<span class="none">—</span>`}</dd>
      <dt>Created</dt><dd>${time(p.created_at)}</dd>
      <dt>Updated</dt><dd>${time(p.updated_at)}</dd>
      ${p.status === 'processing' ? html`<dt>Reconciler</dt><dd>${p.reconcile_attempts} attempt(s), next ${time(p.next_reconcile_at)}</dd>` : ''}
      <dt>Metadata</dt><dd>${json(p.metadata)}</dd>
    </dl>
    ${refunds.length > 0
      ? html`<h2>Refunds</h2><table class="list" id="refunds"><thead><tr><th>Refund</th><th>Amount</th><th>Status</th><th>Failure</th></tr></thead><tbody>${refunds}</tbody></table>`
      : ''}
    <h2>Timeline</h2>
    <table class="timeline" id="timeline">
      <thead><tr><th>Time (UTC)</th><th>What</th><th>Details</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>`,
  );
}
