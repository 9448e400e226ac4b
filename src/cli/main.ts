/**
 * `npm run -s cli -- merchants create --name <name>`: prints one JSON line
 * `{"merchant_id": …, "test_key": …, "live_key": …}`. Uses DATABASE_URL.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { MerchantsRepository } from '../auth/merchants.repository.js';
import { MerchantsService } from '../auth/merchants.service.js';
import { loadConfig } from '../config/app-config.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import { runMigrations } from '../database/migrations.js';

const USAGE = 'usage: npm run -s cli -- merchants create --name <name>';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({ args: process.argv.slice(2), options: { name: { type: 'string' } }, allowPositionals: true });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
})();

if (positionals.join(' ') !== 'merchants create') fail(USAGE);
const name = values.name?.trim();
if (!name || name.length > 200) fail(`--name must be 1 to 200 characters\n${USAGE}`);

const config = loadConfig();
if (!config.databaseUrl) fail('DATABASE_URL is not set');

await runMigrations(config.databaseUrl);
const dataSource = new DataSource(dataSourceOptions(config.databaseUrl, 1));
await dataSource.initialize();
try {
  const created = await new MerchantsService(new MerchantsRepository(dataSource)).create(name);
  process.stdout.write(`${JSON.stringify(created)}\n`);
} finally {
  await dataSource.destroy();
}
