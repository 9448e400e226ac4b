/**
 * The operator's CLI, on DATABASE_URL; every command prints one JSON line.
 *   npm run -s cli -- merchants create --name <name>
 *   npm run -s cli -- providers disable <provider> [--reason <why>]   (the kill switch: no restart)
 *   npm run -s cli -- providers enable <provider>
 *   npm run -s cli -- providers list
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

const USAGE = [
  'usage: npm run -s cli -- merchants create --name <name>',
  '       npm run -s cli -- providers disable|enable <provider> [--reason <why>]',
  '       npm run -s cli -- providers list',
].join('\n');

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({ args: process.argv.slice(2), options: { name: { type: 'string' }, reason: { type: 'string' } }, allowPositionals: true });
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
