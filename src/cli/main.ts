/**
 * The operator's CLI, on DATABASE_URL; every command prints one JSON line.
 *   npm run -s cli -- merchants create --name <name>
 *   npm run -s cli -- providers disable <provider> [--reason <why>]   (the kill switch: no restart)
 *   npm run -s cli -- providers enable <provider>
 *   npm run -s cli -- providers list
 *   npm run -s cli -- inbox list [--status received|applied|ignored|dead]   (the provider's webhooks, newest first)
 *   npm run -s cli -- inbox redrive <id> | --dead   (back to received, tries forgotten: applied again by the next pass)
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { MerchantsRepository } from '../auth/merchants.repository.js';
import { MerchantsService } from '../auth/merchants.service.js';
import { loadConfig } from '../config/app-config.js';
import { ChangeNotifications } from '../database/change-notifications.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import { runMigrations } from '../database/migrations.js';
import { ProviderSettingsRepository } from '../provider/provider-settings.repository.js';
import { InboxRepository, type InboxStatus } from '../webhooks/inbound/inbox.repository.js';

const USAGE = [
  'usage: npm run -s cli -- merchants create --name <name>',
  '       npm run -s cli -- providers disable|enable <provider> [--reason <why>]',
  '       npm run -s cli -- providers list',
  '       npm run -s cli -- inbox list [--status received|applied|ignored|dead]',
  '       npm run -s cli -- inbox redrive <id> | --dead',
].join('\n');

const INBOX_STATUSES: readonly InboxStatus[] = ['received', 'applied', 'ignored', 'dead'];
/** The newest events listed; enough to see what is stuck without paging. */
const INBOX_LIST_LIMIT = 100;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({ args: process.argv.slice(2), options: { name: { type: 'string' }, reason: { type: 'string' }, status: { type: 'string' }, dead: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
})();

const [group, command, target] = positionals;
const commands: Record<string, (db: DataSource) => Promise<unknown>> = {
  'merchants create': (db) => {
    const name = values.name?.trim();
    if (!name || name.length > 200) fail(`--name must be 1 to 200 characters\n${USAGE}`);
    // A listener that is never started: the CLI only creates merchants, and trusts no cache.
    return new MerchantsService(new MerchantsRepository(db), new ChangeNotifications(config), config).create(name);
  },
  'providers disable': async (db) => {
    if (!target) fail(USAGE);
    await new ProviderSettingsRepository(db).setEnabled(target, false, values.reason ?? null);
    return { provider: target, enabled: false, reason: values.reason ?? null };
  },
  'providers enable': async (db) => {
    if (!target) fail(USAGE);
    await new ProviderSettingsRepository(db).setEnabled(target, true, null);
    return { provider: target, enabled: true };
  },
  'providers list': (db) => new ProviderSettingsRepository(db).list(),
  'inbox list': (db) => {
    const status = values.status as InboxStatus | undefined;
    if (status !== undefined && !INBOX_STATUSES.includes(status)) fail(`--status must be one of ${INBOX_STATUSES.join(', ')}\n${USAGE}`);
    return new InboxRepository(db).list(status, INBOX_LIST_LIMIT);
  },
  'inbox redrive': async (db) => {
    if (Boolean(values.dead) === (target !== undefined)) fail(`name one event id, or --dead for every dead event\n${USAGE}`);
    if (target !== undefined && !/^[1-9][0-9]{0,17}$/.test(target)) fail(`${target} is not an inbox event id\n${USAGE}`);
    const redriven = await new InboxRepository(db).redrive(target === undefined ? 'dead' : [target]);
    if (target !== undefined && redriven.length === 0) fail(`no inbox event ${target}`);
    return { redriven };
  },
};
const run = commands[`${group} ${command}`];
if (!run) fail(USAGE);

const config = loadConfig();
if (!config.databaseUrl) fail('DATABASE_URL is not set');

await runMigrations(config.databaseUrl);
const dataSource = new DataSource(dataSourceOptions(config.databaseUrl, 1));
await dataSource.initialize();
try {
  process.stdout.write(`${JSON.stringify(await run(dataSource))}\n`);
} finally {
  await dataSource.destroy();
}
