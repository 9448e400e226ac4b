import type { DataSourceOptions } from 'typeorm';
import { InitialSchema1763800000000 } from './migrations/1763800000000-initial-schema.js';
import { ProviderResilienceAndRefunds1763900000000 } from './migrations/1763900000000-provider-resilience-and-refunds.js';
import { AttemptsOutliveAbandonedRequests1764000000000 } from './migrations/1764000000000-attempts-outlive-abandoned-requests.js';
import { JobSchemaForPgBoss121764100000000 } from './migrations/1764100000000-job-schema-for-pg-boss-12.js';
import { CacheChangeNotifications1764200000000 } from './migrations/1764200000000-cache-change-notifications.js';
import { AttemptsRecordedAsSent1764300000000 } from './migrations/1764300000000-attempts-recorded-as-sent.js';
import { HotUpdates1764400000000 } from './migrations/1764400000000-hot-updates.js';
import { Webhooks1764500000000 } from './migrations/1764500000000-webhooks.js';
import { InboxSchedule1764600000000 } from './migrations/1764600000000-inbox-schedule.js';
import { DeliveryRetryFrom1764620000000 } from './migrations/1764620000000-delivery-retry-from.js';
import { DeadDeliveries1764700000000 } from './migrations/1764700000000-dead-deliveries.js';
import { Traceparents1764710000000 } from './migrations/1764710000000-traceparents.js';

/** What the app sets on every connection (the migrations and the CLI run without them: DDL may take long). */
export interface ConnectionTimeouts {
  statementMs: number;
  lockMs: number;
  idleInTransactionMs: number;
  poolMs: number;
}

/** The one definition of the database connection, shared by the app, the CLI and the migration runner. */
export function dataSourceOptions(url: string, poolSize = 10, timeouts?: ConnectionTimeouts): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: [
      InitialSchema1763800000000,
      ProviderResilienceAndRefunds1763900000000,
      AttemptsOutliveAbandonedRequests1764000000000,
      JobSchemaForPgBoss121764100000000,
      CacheChangeNotifications1764200000000,
      AttemptsRecordedAsSent1764300000000,
      HotUpdates1764400000000,
      Webhooks1764500000000,
      InboxSchedule1764600000000,
      DeliveryRetryFrom1764620000000,
      DeadDeliveries1764700000000,
      Traceparents1764710000000,
    ],
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize,
    extra: {
      application_name: 'idempay',
      ...(timeouts && {
        statement_timeout: timeouts.statementMs,
        lock_timeout: timeouts.lockMs,
        idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
        // A server that stopped answering (a network cut, a paused host) ends no statement: the client gives up too.
        query_timeout: timeouts.statementMs + 1_000,
        connectionTimeoutMillis: timeouts.poolMs,
      }),
    },
  };
}
