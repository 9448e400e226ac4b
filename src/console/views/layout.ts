import { html, type SafeHtml } from './html.js';

export type Section = 'payments' | 'inbox' | 'outbox' | 'dead-letters' | 'providers';

const SECTIONS: [Section, string, string][] = [
  ['payments', '/console', 'Payments'],
  ['inbox', '/console/inbox', 'Inbox'],
  ['outbox', '/console/outbox', 'Outbox'],
  ['dead-letters', '/console/dead-letters', 'Dead letters'],
  ['providers', '/console/providers', 'Providers'],
];

export interface Frame {
  title: string;
  /** The session's CSRF token; absent on the login page. */
  csrf?: string;
  section?: Section;
  notice?: string;
}

/** The hidden field every state-changing form carries. */
export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

export function page(frame: Frame, body: SafeHtml): SafeHtml {
  const nav =
    frame.csrf === undefined
      ? ''
      : html`<nav>${SECTIONS.map(([section, path, label]) =>
          section === frame.section ? html`<a href="${path}" aria-current="page">${label}</a>` : html`<a href="${path}">${label}</a>`,
        )}</nav>
    <form method="post" action="/console/logout" class="logout">${csrfField(frame.csrf)}<button type="submit">Log out</button></form>`;
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="same-origin">
  <title>${frame.title} · idempay console</title>
  <link rel="stylesheet" href="/console/console.css">
</head>
<body>
  <header class="top">
    <a class="brand" href="/console">idempay console</a>
    ${nav}
  </header>
  <main>
    ${frame.notice ? html`<p class="notice" role="status">${frame.notice}</p>` : ''}
    <h1>${frame.title}</h1>
    ${body}
  </main>
</body>
</html>
`;
}
