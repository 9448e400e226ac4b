import type { DataSourceOptions } from 'typeorm';
import { InitialSchema1763800000000 } from './migrations/1763800000000-initial-schema.js';
import { ProviderResilienceAndRefunds1763900000000 } from './migrations/1763900000000-provider-resilience-and-refunds.js';
import { AttemptsOutliveAbandonedRequests1764000000000 } from './migrations/1764000000000-attempts-outlive-abandoned-requests.js';

/** The one definition of the database connection, shared by the app, the CLI and the migration runner. */
export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: [InitialSchema1763800000000, ProviderResilienceAndRefunds1763900000000, AttemptsOutliveAbandonedRequests1764000000000],
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize,
    extra: { application_name: 'idempay' },
  };
}
