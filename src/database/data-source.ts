/** The DataSource for TypeORM's own CLI (`typeorm migration:show -d dist/database/data-source.js`). */
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';

const config = loadConfig();
if (!config.databaseUrl) throw new Error('DATABASE_URL is not set');
export default new DataSource(dataSourceOptions(config.databaseUrl, config.databasePoolSize));
