/**
 * `npm start`: the API, on the Postgres in DATABASE_URL or else an embedded one. Test mode charges
 * through the sandbox (SANDBOX_URL, else one started here); live mode only through PROVIDER_URL.
 * SIGTERM/SIGINT turn readiness false, drain in-flight requests and jobs within SHUTDOWN_GRACE_MS, exit 0.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from './app.js';
import { MerchantsService, type CreatedMerchant } from './auth/merchants.service.js';
import { AppConfig, loadConfig } from './config/app-config.js';
import { withAdvisoryLock } from './database/advisory-lock.js';
import { startEmbeddedPostgres } from './database/embedded-postgres.js';
import { runMigrations } from './database/migrations.js';
import { Shutdown } from './lifecycle/shutdown.js';
import { buildSandbox, faultsFromEnv, type SandboxState, webhooksFromEnv } from './sandbox-provider/sandbox-server.js';

const DEMO_MERCHANT = 'Demo merchant';
const say = (line: string) => process.stdout.write(`${line}\n`);

const config = loadConfig();
say(`idempay on Node ${process.version}`);
const cleanups: (() => Promise<unknown>)[] = [];

let databaseUrl = config.databaseUrl;
if (!databaseUrl) {
  const embedded = await startEmbeddedPostgres(config.embeddedPgDir, config.embeddedPgPort, 'idempay');
  cleanups.unshift(() => embedded.stop());
  databaseUrl = embedded.url;
  say(`embedded Postgres on port ${config.embeddedPgPort}, data in ${config.embeddedPgDir}`);
}
await runMigrations(databaseUrl);

let sandboxUrl = config.sandboxUrl;
let sandboxWebhookSecrets = config.sandboxWebhookSecrets;
let sandbox: SandboxState | undefined;
if (!sandboxUrl) {
  // The sandbox started here signs its webhooks with the API's own secret (a fresh one when none is set).
  if (sandboxWebhookSecrets.length === 0) sandboxWebhookSecrets = [`whsec_${randomBytes(32).toString('base64')}`];
  const started = buildSandbox({ faults: faultsFromEnv(process.env), webhooks: { ...webhooksFromEnv(process.env), signingSecret: sandboxWebhookSecrets[0] } });
  await started.app.listen({ port: config.sandboxPort, host: '127.0.0.1' });
  cleanups.unshift(() => started.app.close());
  sandbox = started.state;
  sandboxUrl = `http://127.0.0.1:${config.sandboxPort}`;
  say(`sandbox provider (test mode) on ${sandboxUrl}`);
}
// The origin only: a provider URL may carry credentials.
say(config.providerUrl ? `live mode charges through ${config.providerName} at ${new URL(config.providerUrl).origin}` : 'live mode is off: no PROVIDER_URL');

// The local demo on the embedded database only: merchants' endpoints may be on this machine, over plain http.
const webhookAllowedHosts = !config.databaseUrl && !process.env.WEBHOOK_ALLOWED_HOSTS ? ['localhost', '127.0.0.1', '::1'] : config.webhookAllowedHosts;
// The console of the local demo opens with a token kept beside its data; a real database never gets one made up.
const adminToken = config.adminToken ?? (config.databaseUrl ? undefined : await demoAdminToken());
// Unset, LOG_FORMAT is pretty for a person at a terminal and JSON lines for anything reading the output.
const logFormat = config.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json');
const app = await createApp(new AppConfig({ ...config, databaseUrl, sandboxUrl, sandboxWebhookSecrets, webhookAllowedHosts, adminToken, logFormat }));
await app.listen({ port: config.port, host: config.host });
const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
sandbox?.configure({}, { url: `${base}/provider-webhooks/sandbox` });
if (sandbox) say(`the sandbox sends its webhooks to ${base}/provider-webhooks/sandbox`);
if (webhookAllowedHosts !== config.webhookAllowedHosts) say(`local demo: webhook endpoints may use http and loopback hosts (${webhookAllowedHosts.join(', ')}); set WEBHOOK_ALLOWED_HOSTS to change this`);
say(`idempay listening on ${base}`);
if (adminToken) say(`operator console: ${base}/console${config.adminToken ? '' : ` (admin token: ${adminToken})`}`);
if (config.databaseUrl) {
  say('create a merchant and its keys with: npm run -s cli -- merchants create --name "My shop"');
} else {
  await printDemoMerchant(app.get(MerchantsService), app.get(DataSource));
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // Past the grace period, whatever is still running is cut off rather than hanging the deploy.
    setTimeout(() => process.exit(1), config.shutdownGraceMs).unref();
    // At once: readiness turns false and new requests are refused while the running ones finish.
    app.get(Shutdown).begin();
    void (async () => {
      await app.close();
      for (const cleanup of cleanups) await cleanup();
      process.exit(0);
    })().catch((error: unknown) => {
      process.stderr.write(`shutdown failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
  });
}

/** The embedded database's admin token: made on first run, kept (owner-only) beside the data like the demo key. */
async function demoAdminToken(): Promise<string> {
  const file = join(dirname(config.embeddedPgDir), 'admin-token');
  try {
    await writeFile(file, randomBytes(24).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (await readFile(file, 'utf8')).trim();
}

/**
 * Embedded database only, never one named by DATABASE_URL (a shared or production database must not
 * get a merchant nobody asked for): on first run, creates a demo merchant and prints its test key,
 * kept beside the data (a local, git-ignored folder) so later runs can print it again. Under a lock,
 * so two processes starting at once create one merchant, and the second finds its key file.
 */
async function printDemoMerchant(merchants: MerchantsService, db: DataSource): Promise<void> {
  const keyFile = join(dirname(config.embeddedPgDir), 'demo-merchant.json');
  const demo = await withAdvisoryLock(db, 'idempay:demo-merchant', async (): Promise<CreatedMerchant | undefined> => {
    if (!(await merchants.findIdByName(DEMO_MERCHANT))) {
      const created = await merchants.create(DEMO_MERCHANT);
      await writeFile(keyFile, JSON.stringify(created), { mode: 0o600 });
      return created;
    }
    return existsSync(keyFile) ? (JSON.parse(await readFile(keyFile, 'utf8')) as CreatedMerchant) : undefined;
  });
  if (!demo) {
    say(`the demo merchant exists; create another with: npm run -s cli -- merchants create --name "My shop"`);
    return;
  }
  say(`demo merchant ${demo.merchant_id}, test key: ${demo.test_key}`);
  say('try:');
  say(
    `  curl -s ${base}/v1/payments -H "Authorization: Bearer ${demo.test_key}" -H "Idempotency-Key: $(uuidgen 2>/dev/null || date +%s%N)" ` +
      `-H "Content-Type: application/json" -d '{"amount": 5000, "currency": "eur", "payment_method": "pm_card_visa"}'`,
  );
}
