/** The operator console over plain HTTP, as a browser would use it: forms, a cookie, redirects not followed. */

export const ADMIN_TOKEN = 'console-test-admin-token-0123456789';

export interface PageAnswer {
  status: number;
  headers: Headers;
  text: string;
}

async function answer(response: Response): Promise<PageAnswer> {
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export async function getPage(baseUrl: string, path: string, cookie?: string): Promise<PageAnswer> {
  return answer(await fetch(`${baseUrl}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} }));
}

export async function postForm(baseUrl: string, path: string, fields: Record<string, string>, cookie?: string, headers: Record<string, string> = {}): Promise<PageAnswer> {
  return answer(
    await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
      body: new URLSearchParams(fields).toString(),
    }),
  );
}

/** The `name=value` of the session cookie a login answered with. */
export function cookieOf(page: PageAnswer): string {
  const setCookie = page.headers.get('set-cookie');
  if (!setCookie) throw new Error(`no cookie was set (status ${page.status})`);
  return setCookie.split(';')[0];
}

/** The CSRF token in a page's forms. */
export function csrfOf(page: PageAnswer): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page.text);
  if (!match) throw new Error('the page carries no CSRF token');
  return match[1];
}

/** Logs in with the admin token; the session cookie and the CSRF token of its pages. */
export async function login(baseUrl: string, token = ADMIN_TOKEN): Promise<{ cookie: string; csrf: string }> {
  const loggedIn = await postForm(baseUrl, '/console/login', { token });
  if (loggedIn.status !== 303) throw new Error(`login answered ${loggedIn.status}`);
  const cookie = cookieOf(loggedIn);
  return { cookie, csrf: csrfOf(await getPage(baseUrl, '/console', cookie)) };
}
