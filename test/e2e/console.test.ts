import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { AppConfig, loadConfig } from '../../src/config/app-config.js';
import { LOGIN_FAILURES_ALLOWED } from '../../src/console/console-login-attempts.js';
import { ConsoleSessions } from '../../src/console/console-sessions.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { InboxProcessor } from '../../src/webhooks/inbound/inbox-processor.js';
import { ADMIN_TOKEN, cookieOf, csrfOf, getPage, login, type PageAnswer, postForm } from '../support/console-client.js';
import { type ChildServer, startChildServer } from '../support/child-server.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { eventFor, newSecret, postEvent, signedHeaders } from '../support/provider-events.js';
import { createEndpoint } from '../support/webhook-endpoints.js';

const TTL_MS = 3_600_000;
const secret = newSecret();

/** Rows of the list tables on a page, by the payment ids they link to. */
function paymentIdsOn(page: PageAnswer): string[] {
  return [...page.text.matchAll(/<a href="\/console\/payments\/(pay_[0-9A-Z]{26})">/g)].map((m) => m[1]);
}

function expectPageWithoutInlineCode(page: PageAnswer): void {
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  expect(page.headers.get('cache-control')).toBe('no-store');
  // No script element, and no tag with a style or an event handler attribute (escaped text has no tags).
  expect(page.text).not.toMatch(/<script|<[^>]*\s(style|on[a-z]+)\s*=/i);
}

describe('without ADMIN_TOKEN', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('/console is not served: every console path is the API 404', async () => {
    expect(stack.config.adminToken).toBeUndefined();
    for (const path of ['/console', '/console/login', '/console/console.css', '/console/providers']) {
      const page = await getPage(stack.baseUrl, path);
      expect([path, page.status]).toEqual([path, 404]);
      expect(JSON.parse(page.text)).toMatchObject({ code: 'route-not-found' });
    }
    const posted = await postForm(stack.baseUrl, '/console/login', { token: 'anything-at-all-here' });
    expect(posted.status).toBe(404);
  });

  it('ADMIN_TOKEN_FILE names the token in a file (a mounted secret); a token under 16 characters, or both set, is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idempay-admin-token-'));
    try {
      const file = join(dir, 'admin-token');
      await writeFile(file, `${ADMIN_TOKEN}\n`);
      expect(loadConfig({ ADMIN_TOKEN_FILE: file }).adminToken).toBe(ADMIN_TOKEN);
      expect(() => loadConfig({ ADMIN_TOKEN_FILE: file, ADMIN_TOKEN })).toThrow(/ADMIN_TOKEN or ADMIN_TOKEN_FILE/);
      expect(() => loadConfig({ ADMIN_TOKEN: 'short-token' })).toThrow(/at least 16 characters/);
      expect(loadConfig({}).adminToken).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('npm start on DATABASE_URL makes up no admin token; with ADMIN_TOKEN it names the console and never prints the token', async () => {
    const env = { DATABASE_URL: stack.config.databaseUrl!, SANDBOX_URL: stack.sandboxUrl, ADMIN_TOKEN: '' };
    /** Until the last line it prints at start: the lines after "idempay listening" may come in a later chunk. */
    const started = async (child: ChildServer) => {
      const deadline = Date.now() + 5_000;
      while (!child.output().includes('create a merchant and its keys with')) {
        if (Date.now() > deadline) throw new Error(`the server did not finish starting:\n${child.output()}`);
        await sleep(20);
      }
      return child;
    };
    const plain = await started(await startChildServer(env));
    try {
      expect(plain.output()).not.toContain('operator console');
      expect((await getPage(plain.baseUrl, '/console/login')).status).toBe(404);
    } finally {
      plain.process.kill('SIGKILL');
      await plain.exited;
    }
    const withToken = await started(await startChildServer({ ...env, ADMIN_TOKEN }));
    try {
      expect(withToken.output()).toContain(`operator console: ${withToken.baseUrl}/console\n`);
      expect(withToken.output()).not.toContain(ADMIN_TOKEN);
      expect((await postForm(withToken.baseUrl, '/console/login', { token: ADMIN_TOKEN })).status).toBe(303);
    } finally {
      withToken.process.kill('SIGKILL');
      await withToken.exited;
    }
  }, 30_000);
});

describe('with ADMIN_TOKEN', () => {
  let stack: Stack;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    stack = await startStack({ adminToken: ADMIN_TOKEN, consoleSessionTtlMs: TTL_MS, sandboxWebhookSecrets: [secret] });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await resetStack(stack);
    merchant = await createMerchant(stack);
  });

  const pay = (body: unknown = visa, idempotencyKey: string = randomUUID()) =>
    call(stack.baseUrl, 'POST', '/v1/payments', body, { key: merchant.test_key, idempotencyKey });

  describe('login', () => {
    it('a page without a session goes to the login form, which posts the token in its body', async () => {
      const page = await getPage(stack.baseUrl, '/console');
      expect(page.status).toBe(303);
      expect(page.headers.get('location')).toBe('/console/login');
      const form = await getPage(stack.baseUrl, '/console/login');
      expect(form.status).toBe(200);
      expect(form.text).toContain('<form method="post" action="/console/login"');
      expect(form.text).toContain('type="password"');
      expectPageWithoutInlineCode(form);
    });

    it('a wrong or missing token is the login page again with 401 and no cookie', async () => {
      for (const token of ['not-the-admin-token-at-all', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), '']) {
        const refused = await postForm(stack.baseUrl, '/console/login', { token });
        expect(refused.status).toBe(401);
        expect(refused.headers.get('set-cookie')).toBeNull();
        expect(refused.text).toContain('That is not the admin token.');
        expect(refused.text).toContain('action="/console/login"');
      }
      const noBody = await fetch(`${stack.baseUrl}/console/login`, { method: 'POST', redirect: 'manual' });
      expect(noBody.status).toBe(401);
    });

    it('the token sets an HttpOnly, SameSite=Strict session cookie on /console for the session TTL, Secure over https', async () => {
      const loggedIn = await postForm(stack.baseUrl, '/console/login', { token: ADMIN_TOKEN });
      expect(loggedIn.status).toBe(303);
      expect(loggedIn.headers.get('location')).toBe('/console');
      const cookie = loggedIn.headers.get('set-cookie')!;
      expect(cookie.split('; ').slice(1)).toEqual(['Path=/console', 'HttpOnly', 'SameSite=Strict', `Max-Age=${TTL_MS / 1000}`]);
      const page = await getPage(stack.baseUrl, '/console', cookieOf(loggedIn));
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Payments</h1>');
      expectPageWithoutInlineCode(page);

      const overHttps = await postForm(stack.baseUrl, '/console/login', { token: ADMIN_TOKEN }, undefined, { 'x-forwarded-proto': 'https' });
      expect(overHttps.headers.get('set-cookie')).toMatch(/; Secure$/);
      // Already logged in: the form sends the operator on.
      expect((await getPage(stack.baseUrl, '/console/login', cookieOf(loggedIn))).headers.get('location')).toBe('/console');
    });

    it('logout (a POST with the CSRF token) removes the cookie', async () => {
      const { cookie, csrf } = await login(stack.baseUrl);
      expect((await postForm(stack.baseUrl, '/console/logout', {}, cookie)).status).toBe(403);
      const out = await postForm(stack.baseUrl, '/console/logout', { _csrf: csrf }, cookie);
      expect(out.status).toBe(303);
      expect(out.headers.get('location')).toBe('/console/login');
      expect(out.headers.get('set-cookie')).toBe('idempay_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0');
    });
  });

  describe('sessions', () => {
    it('a forged, tampered, expired or otherwise-signed cookie is no session', async () => {
      const { cookie } = await login(stack.baseUrl);
      const [, value] = cookie.split('=');
      const [id, expiry, mac] = value.split('.');
      const sessions = stack.app.get(ConsoleSessions);
      const otherToken = new ConsoleSessions(new AppConfig({ ...stack.config, adminToken: 'another-admin-token-0123456789' }));
      const refused = {
        forged: `${randomUUID().replaceAll('-', '').slice(0, 22)}.${Date.now() + 60_000}.${'A'.repeat(43)}`,
        'expiry moved': `${id}.${Number(expiry) + 1}.${mac}`,
        'signature altered': `${id}.${expiry}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
        expired: sessions.issue(Date.now() - TTL_MS - 1_000),
        'signed with another token': otherToken.issue(),
        'beyond the TTL': sessions.issue(Date.now() + TTL_MS),
        empty: '',
      };
      for (const [name, forged] of Object.entries(refused)) {
        const page = await getPage(stack.baseUrl, '/console/providers', `idempay_console=${forged}`);
        expect([name, page.status, page.headers.get('location')]).toEqual([name, 303, '/console/login']);
      }
      // Sent twice, the cookie is ambiguous: no session either.
      expect((await getPage(stack.baseUrl, '/console', `${cookie}; ${cookie}`)).status).toBe(303);
      // The real one, for contrast.
      expect((await getPage(stack.baseUrl, '/console/providers', cookie)).status).toBe(200);
    });

    it('a form posted with a forged or expired cookie is not carried out: 401 and the login form', async () => {
      const expired = `idempay_console=${stack.app.get(ConsoleSessions).issue(Date.now() - TTL_MS - 1)}`;
      const { csrf } = await login(stack.baseUrl);
      const posted = await postForm(stack.baseUrl, '/console/providers/sandbox/kill-switch', { _csrf: csrf, enabled: 'false', reason: 'x' }, expired);
      expect(posted.status).toBe(401);
      expect(posted.text).toContain('action="/console/login"');
      expect(await stack.db.query('SELECT * FROM provider_settings')).toEqual([]);
    });

    it('every POST needs the CSRF token of its own session: 403 without it, with another session’s, or as JSON', async () => {
      const mine = await login(stack.baseUrl);
      const other = await login(stack.baseUrl);
      expect(other.csrf).not.toBe(mine.csrf);
      const path = '/console/providers/sandbox/kill-switch';
      const attempts: [string, PageAnswer][] = [
        ['none', await postForm(stack.baseUrl, path, { enabled: 'false', reason: 'csrf' }, mine.cookie)],
        ['another session', await postForm(stack.baseUrl, path, { _csrf: other.csrf, enabled: 'false', reason: 'csrf' }, mine.cookie)],
        ['empty', await postForm(stack.baseUrl, path, { _csrf: '', enabled: 'false', reason: 'csrf' }, mine.cookie)],
      ];
      const asJson = await fetch(`${stack.baseUrl}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json', cookie: mine.cookie },
        body: JSON.stringify({ _csrf: mine.csrf, enabled: 'false', reason: 'csrf' }),
      });
      for (const [name, answer] of attempts) expect([name, answer.status]).toEqual([name, 403]);
      expect(asJson.status).toBe(403);
      expect(await stack.db.query('SELECT * FROM provider_settings')).toEqual([]);

      const done = await postForm(stack.baseUrl, path, { _csrf: mine.csrf, enabled: 'false', reason: 'csrf' }, mine.cookie);
      expect(done.status).toBe(303);
      expect(await stack.db.query('SELECT provider, enabled, reason FROM provider_settings')).toEqual([{ provider: 'sandbox', enabled: false, reason: 'csrf' }]);
    });
  });

  it('merchant-controlled text (metadata, description, operation id, endpoint URL, provider errors) is escaped on every page', async () => {
    const operationId = `"><script>alert('key')</script>`;
    const paid = await pay(
      { ...visa, description: '<img src=x onerror=alert(1)>', metadata: { note: '<script>alert("meta")</script>', '<b>key</b>': "' onmouseover='alert(2)" } },
      operationId,
    );
    expect(paid.status).toBe(201);
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, `http://127.0.0.1/"><script>alert('url')</script>`);
    const [event] = await stack.db.query('SELECT id FROM events WHERE payment_id = $1', [paid.body.id]);
    await stack.db.query(
      `INSERT INTO webhook_deliveries (id, merchant_id, mode, event_id, endpoint_id, status, attempts, last_error)
       VALUES ('whd_01JZZZZZZZZZZZZZZZZZZZZZZZ', $1, 'test', $2, $3, 'dead', 6, '<script>alert("error")</script>')`,
      [merchant.merchant_id, event.id, endpoint.id],
    );
    const { cookie } = await login(stack.baseUrl);
    const pages = {
      list: await getPage(stack.baseUrl, '/console', cookie),
      search: await getPage(stack.baseUrl, `/console?q=${encodeURIComponent(operationId)}`, cookie),
      timeline: await getPage(stack.baseUrl, `/console/payments/${paid.body.id}`, cookie),
      'dead letters': await getPage(stack.baseUrl, '/console/dead-letters', cookie),
    };
    for (const [name, page] of Object.entries(pages)) {
      expect([name, page.status]).toEqual([name, 200]);
      expectPageWithoutInlineCode(page);
      expect(page.text).not.toMatch(/<script|<img|<b>/);
    }
    expect(pages.search.text).toContain('value="&quot;&gt;&lt;script&gt;alert(&#39;key&#39;)&lt;/script&gt;"');
    expect(paymentIdsOn(pages.search)).toEqual([paid.body.id]);
    expect(pages.list.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(pages.timeline.text).toContain('&lt;script&gt;alert(\\&quot;meta\\&quot;)&lt;/script&gt;');
    expect(pages.timeline.text).toContain('&quot;&lt;b&gt;key&lt;/b&gt;&quot;: &quot;&#39; onmouseover=&#39;alert(2)&quot;');
    expect(pages.timeline.text).toContain('<code>&quot;&gt;&lt;script&gt;alert(&#39;key&#39;)&lt;/script&gt;</code>');
    expect(pages['dead letters'].text).toContain('http://127.0.0.1/&quot;&gt;&lt;script&gt;alert(&#39;url&#39;)&lt;/script&gt;');
    expect(pages['dead letters'].text).toContain('&lt;script&gt;alert(&quot;error&quot;)&lt;/script&gt;');
    // A merchant's URL is shown as text, never made a link.
    expect(pages['dead letters'].text).not.toContain('href="http://127.0.0.1/');
  });

  it('lists payments newest first, 50 a page, and finds one by payment id, operation id and status (alone or with the merchant)', async () => {
    const created: { id: string; key: string }[] = [];
    for (let i = 0; i < 51; i++) {
      const key = `order-${i}`;
      const res = await pay(i === 7 ? { ...visa, payment_method: 'pm_card_declined' } : visa, key);
      created.push({ id: res.body.id, key });
    }
    const other = await createMerchant(stack, 'Other');
    const elsewhere = await call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: other.test_key, idempotencyKey: 'order-3' });
    const newestFirst = [elsewhere.body.id, ...created.map((c) => c.id).reverse()];
    const { cookie } = await login(stack.baseUrl);

    const first = await getPage(stack.baseUrl, '/console', cookie);
    expect(paymentIdsOn(first)).toEqual(newestFirst.slice(0, 50));
    const older = /href="(\/console\?before=pay_[0-9A-Z]{26})" rel="next"/.exec(first.text)?.[1];
    expect(older).toBe(`/console?before=${newestFirst[49]}`);
    const second = await getPage(stack.baseUrl, older!, cookie);
    expect(paymentIdsOn(second)).toEqual(newestFirst.slice(50));
    expect(second.text).not.toContain('rel="next"');

    const search = async (query: Record<string, string>) => paymentIdsOn(await getPage(stack.baseUrl, `/console?${new URLSearchParams(query)}`, cookie));
    expect(await search({ q: created[20].id })).toEqual([created[20].id]);
    expect(await search({ q: 'order-20' })).toEqual([created[20].id]);
    // An operation id is a merchant's Idempotency-Key: two merchants may use the same one.
    expect(await search({ q: 'order-3' })).toEqual([elsewhere.body.id, created[3].id]);
    expect(await search({ q: 'order-3', merchant: merchant.merchant_id })).toEqual([created[3].id]);
    expect(await search({ status: 'failed' })).toEqual([created[7].id]);
    expect(await search({ q: 'order-7', status: 'succeeded' })).toEqual([]);
    expect(await search({ q: 'no-such-operation' })).toEqual([]);

    for (const bad of ['status=lost', 'merchant=x', 'before=1', `q=${'x'.repeat(256)}`, 'q=%00', 'status=failed&status=succeeded']) {
      const page = await getPage(stack.baseUrl, `/console?${bad}`, cookie);
      expect([bad, page.status]).toEqual([bad, 400]);
    }
    expect((await getPage(stack.baseUrl, `/console/payments/pay_${'0'.repeat(26)}`, cookie)).status).toBe(404);
    expect((await getPage(stack.baseUrl, '/console/payments/%3Cscript%3E', cookie)).status).toBe(404);
  });

  it('the timeline of a refunded payment: the key, the payment, each attempt, the transition, events and the finished keys, in order', async () => {
    const paid = await pay(visa, 'timeline-order');
    const refund = await call(stack.baseUrl, 'POST', `/v1/payments/${paid.body.id}/refunds`, { amount: 1_000 }, { key: merchant.test_key, idempotencyKey: 'timeline-refund' });
    expect(refund.status).toBe(201);
    const { cookie } = await login(stack.baseUrl);
    const page = await getPage(stack.baseUrl, `/console/payments/${paid.body.id}`, cookie);
    expect(page.status).toBe(200);
    const kinds = [...page.text.matchAll(/<tr data-kind="([a-z-]+)">/g)].map((m) => m[1]);
    expect(kinds).toEqual([
      'key-claimed', 'payment-created', 'provider-attempt', 'transition', 'event', 'key-finished',
      'key-claimed', 'refund-created', 'provider-attempt', 'event', 'key-finished',
    ]);
    expect(page.text).toContain('pending → succeeded');
    expect(page.text).toContain('Provider charge, attempt 1');
    expect(page.text).toContain('Provider refund, attempt 1');
    expect(page.text).toMatch(/latency [0-9]+ ms/);
    expect(page.text).toContain(`provider key <code>${chargeKeyOf(paid.body.id)}</code>`);
    expect(page.text).toContain('Event payment.succeeded');
    expect(page.text).toContain('Event refund.succeeded');
    expect(page.text).toContain('answer 201 stored');
    expect(page.text).toContain(`Refund ${refund.body.id} created`);
  });

  it('redrives a dead provider event: received again with its tries forgotten, then applied', async () => {
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 1 }, { spec: false });
    const processing = await pay();
    await call(stack.sandboxUrl, 'POST', '/__sandbox/config', { charge_then_fail_rate: 0 }, { spec: false });
    expect(processing.body.status).toBe('processing');
    const event = await eventFor(stack, chargeKeyOf(processing.body.id));
    expect((await postEvent(stack.baseUrl, event.body, signedHeaders(secret, event.id, event.body))).status).toBe(200);
    // As the processor leaves an event after its last failed try.
    const [{ id }] = await stack.db.query(
      `WITH dead AS (UPDATE inbox_events SET status = 'dead', attempts = 10, last_error = 'lock timeout', processed_at = now() RETURNING id) SELECT id::text AS id FROM dead`,
    );

    const { cookie, csrf } = await login(stack.baseUrl);
    const dead = await getPage(stack.baseUrl, '/console/inbox?status=dead', cookie);
    expect(dead.text).toContain(`<form method="post" action="/console/inbox/${id}/redrive">`);
    expect(dead.text).toContain('1 dead');

    expect((await postForm(stack.baseUrl, `/console/inbox/${id}/redrive`, {}, cookie)).status).toBe(403);
    expect((await postForm(stack.baseUrl, '/console/inbox/999999/redrive', { _csrf: csrf }, cookie)).status).toBe(404);
    const redriven = await postForm(stack.baseUrl, `/console/inbox/${id}/redrive`, { _csrf: csrf }, cookie);
    expect(redriven.status).toBe(303);
    expect(redriven.headers.get('location')).toBe(`/console/inbox?redriven=${id}`);
    expect(await stack.db.query('SELECT status, attempts, last_error FROM inbox_events WHERE id = $1', [id])).toEqual([{ status: 'received', attempts: 0, last_error: null }]);
    const after = await getPage(stack.baseUrl, redriven.headers.get('location')!, cookie);
    expect(after.text).toContain(`Provider event #${id} is received again`);
    expect(after.text).not.toContain('/redrive"');

    await stack.app.get(InboxProcessor).runDue();
    expect(await stack.db.query('SELECT status FROM inbox_events WHERE id = $1', [id])).toEqual([{ status: 'applied' }]);
    expect((await call(stack.baseUrl, 'GET', `/v1/payments/${processing.body.id}`, undefined, { key: merchant.test_key })).body.status).toBe('succeeded');
  });

  it('the outbox lists events not yet fanned out and deliveries waiting, with their counts', async () => {
    const paid = await pay();
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, 'http://127.0.0.1:9/hooks');
    await stack.db.query(`UPDATE events SET published_at = NULL WHERE payment_id = $1`, [paid.body.id]);
    const [event] = await stack.db.query('SELECT id FROM events WHERE payment_id = $1', [paid.body.id]);
    await stack.db.query(
      `INSERT INTO webhook_deliveries (id, merchant_id, mode, event_id, endpoint_id, next_attempt_at) VALUES ('whd_01JAAAAAAAAAAAAAAAAAAAAAAA', $1, 'test', $2, $3, now())`,
      [merchant.merchant_id, event.id, endpoint.id],
    );
    const { cookie } = await login(stack.baseUrl);
    const page = await getPage(stack.baseUrl, '/console/outbox', cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('1 events waiting for the relay');
    expect(page.text).toContain('1 pending deliveries');
    expect(page.text).toContain(`<code>${event.id}</code>`);
    expect(page.text).toContain('data-delivery-id="whd_01JAAAAAAAAAAAAAAAAAAAAAAA"');
  });

  it('the kill switch needs a reason to switch off, and names only providers the page shows', async () => {
    const { cookie, csrf } = await login(stack.baseUrl);
    const switchOff = (provider: string, fields: Record<string, string>) => postForm(stack.baseUrl, `/console/providers/${provider}/kill-switch`, { _csrf: csrf, ...fields }, cookie);
    expect((await switchOff('sandbox', { enabled: 'false' })).status).toBe(400);
    expect((await switchOff('sandbox', { enabled: 'false', reason: '   ' })).status).toBe(400);
    expect((await switchOff('sandbox', { enabled: 'maybe', reason: 'x' })).status).toBe(400);
    expect((await switchOff('sandbox', { reason: 'x' })).status).toBe(400);
    expect((await switchOff('sandbox', { enabled: 'false', reason: 'x'.repeat(501) })).status).toBe(400);
    expect((await switchOff('nosuchprovider', { enabled: 'false', reason: 'typo' })).status).toBe(404);
    expect((await switchOff('Bad%20Name', { enabled: 'false', reason: 'typo' })).status).toBe(404);
    expect(await stack.db.query('SELECT * FROM provider_settings')).toEqual([]);

    const page = await getPage(stack.baseUrl, '/console/providers', cookie);
    expect(page.text).toContain('<section class="provider" data-provider="sandbox">');
    expect(page.text).toMatch(/<td>test<\/td><td><span class="badge badge-closed">closed<\/span><\/td>/);
  });

  it('an HTML form body is still a 415 on the API: only the console’s form routes parse one', async () => {
    const res = await call(stack.baseUrl, 'POST', '/v1/payments', undefined, {
      key: merchant.test_key,
      idempotencyKey: randomUUID(),
      raw: 'amount=5000&currency=eur&payment_method=pm_card_visa',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('unsupported-media-type');
    expect(await stack.db.query('SELECT count(*)::int AS n FROM payments')).toEqual([{ n: 0 }]);
    // And the console's forms answer pages, never problem+json.
    const { cookie } = await login(stack.baseUrl);
    const page = await getPage(stack.baseUrl, '/console/inbox?status=lost', cookie);
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(csrfOf(page)).toBeTruthy();
  });
});

describe('wrong admin tokens from one address', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ adminToken: ADMIN_TOKEN });
  });
  afterAll(() => stack.close());

  it(`are refused with 429 and Retry-After after ${LOGIN_FAILURES_ALLOWED}, the right token too, until the window ends; logging in never counts`, async () => {
    for (let i = 0; i < 3; i++) expect((await postForm(stack.baseUrl, '/console/login', { token: ADMIN_TOKEN })).status).toBe(303);
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) {
      expect((await postForm(stack.baseUrl, '/console/login', { token: `wrong-token-number-${i}` })).status).toBe(401);
    }
    for (const token of ['one-more-wrong-token', ADMIN_TOKEN]) {
      const refused = await postForm(stack.baseUrl, '/console/login', { token });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('set-cookie')).toBeNull();
      expect(refused.text).toContain('Too many wrong tokens from this address');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // The API's own budgets are not the console's: merchants' requests go on.
    expect((await call(stack.baseUrl, 'GET', '/v1/payments', undefined, { key: (await createMerchant(stack)).test_key })).status).toBe(200);
  });
});
