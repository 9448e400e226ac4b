import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { KillSwitch } from '../../src/provider/kill-switch.js';
import { DeliveryWorker } from '../../src/webhooks/outbound/delivery-worker.js';
import { ADMIN_TOKEN } from '../support/console-client.js';
import { call, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/** Kept in the repository: what the timeline page looks like, refreshed by every run. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/console-timeline.png', import.meta.url));

let stack: Stack;
let merchant: CreatedMerchant;
let receiver: WebhookReceiver;
let profile: string;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  stack = await startStack({
    adminToken: ADMIN_TOKEN,
    webhookAllowedHosts: ['127.0.0.1'],
    // Two quick retries, then the delivery is dead.
    webhookRetryScheduleMs: [20, 20],
    webhookAttemptTimeoutMs: 400,
  });
  await resetStack(stack);
  merchant = await createMerchant(stack, 'Browser shop');
  receiver = await WebhookReceiver.start(() => ({ status: 500 }));
  profile = await mkdtemp(join(tmpdir(), 'idempay-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await stack?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

const pay = () => call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });

/** Waits until this app's kill switch has heard of the flip (it learns by notification). */
async function killSwitchSees(enabled: boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while ((await stack.app.get(KillSwitch).isEnabled('sandbox')) !== enabled) {
    if (Date.now() > deadline) throw new Error(`the kill switch did not turn ${enabled ? 'on' : 'off'} within 2 s`);
    await sleep(10);
  }
}

describe('the operator console in Chromium', () => {
  it('logs in, finds a payment, reads its timeline, redelivers a dead delivery and switches the kill switch off and on', async () => {
    // A payment whose webhook delivery fails every attempt and ends dead, then a refund of it.
    const endpoint = await createEndpoint(stack.db, merchant.merchant_id, receiver.url, { events: ['payment.succeeded'] });
    const paid = await pay();
    expect(paid.status).toBe(201);
    await pay();
    const worker = stack.app.get(DeliveryWorker);
    const deliveryOf = async (): Promise<{ id: string; status: string; attempts: number } | undefined> =>
      (
        await stack.db.query(
          `SELECT d.id, d.status, d.attempts FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = $1 AND e.payment_id = $2`,
          [endpoint.id, paid.body.id],
        )
      )[0];
    const deadline = Date.now() + 10_000;
    while ((await deliveryOf())?.status !== 'dead') {
      if (Date.now() > deadline) throw new Error('the delivery did not end dead');
      await worker.runOnce();
      await sleep(25);
    }
    const dead = (await deliveryOf())!;
    expect(dead.attempts).toBe(3);
    const refund = await call(stack.baseUrl, 'POST', `/v1/payments/${paid.body.id}/refunds`, { amount: 1_500 }, { key: merchant.test_key, idempotencyKey: randomUUID() });
    expect(refund.status).toBe(201);

    // Log in: a page asked for without a session goes to the form.
    await page.goto(`${stack.baseUrl}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await page.fill('input[name="token"]', 'not-the-token-at-all');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent('.error')).toContain('That is not the admin token.');
    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${stack.baseUrl}/console`);
    expect(await page.textContent('h1')).toBe('Payments');
    expect(await page.locator('#payments tbody tr').count()).toBe(2);
    // The session cookie is out of the page's reach.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const [cookie] = await browser.cookies();
    expect(cookie).toMatchObject({ name: 'idempay_console', path: '/console', httpOnly: true, sameSite: 'Strict' });

    // Find the payment by its id and open its timeline.
    await page.fill('input[name="q"]', paid.body.id);
    await page.click('form.search button[type="submit"]');
    await page.waitForURL(/\/console\?q=/);
    expect(await page.locator('#payments tbody tr').count()).toBe(1);
    await page.click(`#payments a:text("${paid.body.id}")`);
    await page.waitForURL(`${stack.baseUrl}/console/payments/${paid.body.id}`);
    expect(await page.textContent('h1')).toBe(`Payment ${paid.body.id}`);

    const entries = await page.locator('#timeline tbody tr').evaluateAll((rows) =>
      rows.map((row) => ({ kind: row.getAttribute('data-kind'), what: row.querySelector('th')?.textContent ?? '', details: row.querySelectorAll('td')[1]?.textContent ?? '' })),
    );
    const at = (kind: string, what?: string) => entries.findIndex((e) => e.kind === kind && (what === undefined || e.what.includes(what)));
    const order = [
      at('key-claimed'),
      at('payment-created'),
      at('provider-attempt', 'charge'),
      at('transition', 'pending → succeeded'),
      at('event', 'payment.succeeded'),
      at('key-finished'),
      at('delivery'),
      at('refund-created'),
      at('provider-attempt', 'refund'),
      at('event', 'refund.succeeded'),
    ];
    expect(order.every((index) => index >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const charge = entries[at('provider-attempt', 'charge')];
    expect(charge.what).toBe('Provider charge, attempt 1');
    expect(charge.details).toMatch(/succeeded · latency [0-9]+ ms · HTTP|succeeded · latency [0-9]+ ms/);
    expect(entries[at('transition')].details).toContain('succeeded');
    const delivery = entries[at('delivery')];
    expect(delivery.details).toContain('dead');
    expect(delivery.details).toContain('3 attempt(s)');
    expect(await page.locator('#timeline ol.attempts li').count()).toBe(3);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Redeliver the dead delivery: queued again, and gone from the dead letters.
    await page.click('nav a:text("Dead letters")');
    await page.waitForURL(`${stack.baseUrl}/console/dead-letters`);
    const row = page.locator(`#dead-letters tr[data-delivery-id="${dead.id}"]`);
    expect(await row.textContent()).toContain(paid.body.id);
    await row.locator('button:text("Redeliver")').click();
    await page.waitForURL(/\/console\/dead-letters\?requeued=/);
    expect(await page.textContent('.notice')).toContain(`Delivery ${dead.id} is queued again`);
    expect(await page.locator(`#dead-letters tr[data-delivery-id="${dead.id}"]`).count()).toBe(0);
    const [requeued] = await stack.db.query(`SELECT status, attempts, retry_from, next_attempt_at <= now() AS due FROM webhook_deliveries WHERE id = $1`, [dead.id]);
    expect(requeued).toEqual({ status: 'pending', attempts: 3, retry_from: 3, due: true });
    await page.click('nav a:text("Outbox")');
    expect(await page.locator(`#outbox-deliveries tr[data-delivery-id="${dead.id}"]`).count()).toBe(1);

    // The kill switch: off with a reason (a create is then refused), and on again.
    await page.click('nav a:text("Providers")');
    const sandbox = page.locator('section[data-provider="sandbox"]');
    expect(await sandbox.textContent()).toContain('closed');
    await sandbox.locator('input[name="reason"]').fill('incident 42: the sandbox is flaky');
    await sandbox.locator('button:text("Switch off")').click();
    await page.waitForURL(/\/console\/providers\?switched=sandbox/);
    expect(await page.textContent('.notice')).toContain('The kill switch of sandbox is off');
    expect(await stack.db.query(`SELECT provider, enabled, reason FROM provider_settings`)).toEqual([
      { provider: 'sandbox', enabled: false, reason: 'incident 42: the sandbox is flaky' },
    ]);
    await killSwitchSees(false);
    const refused = await pay();
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('provider-disabled');

    await page.locator('section[data-provider="sandbox"] button:text("Switch on")').click();
    await page.waitForURL(/\/console\/providers\?switched=sandbox/);
    expect(await page.textContent('.notice')).toContain('The kill switch of sandbox is on');
    expect(await stack.db.query(`SELECT provider, enabled, reason FROM provider_settings`)).toEqual([{ provider: 'sandbox', enabled: true, reason: null }]);
    await killSwitchSees(true);
    expect((await pay()).status).toBe(201);

    // Log out: the next page asks for the token again.
    await page.click('header .logout button');
    await page.waitForURL(`${stack.baseUrl}/console/login`);
    await page.goto(`${stack.baseUrl}/console/providers`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
  }, 60_000);
});
