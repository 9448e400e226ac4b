import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

/** The token goes in a POST body only: never in a URL, where logs, proxies and history would keep it. */
export function loginPage(error?: string): SafeHtml {
  return page(
    { title: 'Log in' },
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
    <form method="post" action="/console/login" class="login">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="off" required autofocus>
      <button type="submit">Log in</button>
    </form>
    <p class="hint">The token is the server's ADMIN_TOKEN (or the file ADMIN_TOKEN_FILE names).</p>`,
  );
}
