/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
import { loadConfig } from '../config/app-config.js';
import { runMigrations } from './migrations.js';

const config = loadConfig();
if (!config.databaseUrl) {
  process.stderr.write('DATABASE_URL is not set (npm start migrates its embedded database by itself)\n');
  process.exit(2);
}
const applied = await runMigrations(config.databaseUrl);
process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'nothing to apply\n');
