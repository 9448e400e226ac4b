import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Refused',
  404: 'Not found',
  413: 'Too large',
  415: 'Unsupported form',
  503: 'Unavailable for a moment',
};

export function errorPage(status: number, message: string, csrf: string | undefined, traceId: string): SafeHtml {
  return page(
    { title: TITLES[status] ?? 'Something failed', csrf },
    html`<p class="error" role="alert">${message}</p>
    <p class="hint">Trace id <code>${traceId}</code> · <a href="/console">Back to the payments</a></p>`,
  );
}
