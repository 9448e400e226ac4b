import { randomUUID } from 'node:crypto';
import type { Pool, QueryConfig } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { call, chargesFor, createMerchant, resetStack, type Stack, startStack, visa } from '../support/harness.js';

let stack: Stack;
let merchant: CreatedMerchant;
let statements: string[] = [];

const opening = (text: string) => text.trim().split(/\s+/).slice(0, 4).join(' ');

beforeAll(async () => {
  stack = await startStack();
  // What the app sends through its DataSource passes TypeORM's logger, BEGIN and COMMIT included;
  // its prepared statements go to the DataSource's pool directly.
  const logger = stack.db.logger;
  const logQuery = logger.logQuery.bind(logger);
  logger.logQuery = (query, parameters, runner) => {
    statements.push(opening(query));
    return logQuery(query, parameters, runner);
  };
  const pool = (stack.db.driver as PostgresDriver).master as Pool;
  const query = pool.query.bind(pool) as (config: QueryConfig) => Promise<unknown>;
  pool.query = ((config: QueryConfig) => {
    statements.push(opening(config.text));
    return query(config);
  }) as typeof pool.query;
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

async function counted<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  statements = [];
  const result = await work();
  return { result, statements };
}

const post = (idempotencyKey: string) => call(stack.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey });

describe('the round trips to Postgres of a create and its replays', () => {
  it('a create is two statements (the claim with the payment, then the outcome with the answer) and no explicit transaction', async () => {
    await post(randomUUID()); // the API key and the kill switch are read once, then served from memory

    const key = randomUUID();
    const { result: created, statements: sent } = await counted(() => post(key));

    expect(created.status).toBe(201);
    expect(sent).toHaveLength(2);
    expect(sent.every((s) => s.startsWith('WITH'))).toBe(true);
    expect(chargesFor(stack, created.body.id)).toBe(1);
    const [row] = await stack.db.query('SELECT recovery_point, locked_by FROM idempotency_keys WHERE key = $1', [key]);
    expect(row).toEqual({ recovery_point: 'finished', locked_by: null });
    const attempts = await stack.db.query('SELECT operation, outcome, attempt FROM provider_attempts WHERE payment_id = $1', [created.body.id]);
    expect(attempts).toEqual([{ operation: 'charge', outcome: 'succeeded', attempt: 1 }]);
    const events = await stack.db.query('SELECT type, sequence FROM events WHERE payment_id = $1', [created.body.id]);
    expect(events).toEqual([{ type: 'payment.succeeded', sequence: 1 }]);
    const transitions = await stack.db.query('SELECT from_status, to_status FROM payment_transitions WHERE payment_id = $1', [created.body.id]);
    expect(transitions).toEqual([{ from_status: 'pending', to_status: 'succeeded' }]);
  });

  it('a replay this instance answered before sends nothing to Postgres; one it did not costs two statements once', async () => {
    await post(randomUUID());
    const key = randomUUID();
    const created = await post(key);

    const { result: replay, statements: none } = await counted(() => post(key));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(created.text);
    expect(none).toEqual([]);

    // A key finished by another instance (here: written behind this one's back) costs the claim that
    // finds it there (writing nothing) and one read, then nothing.
    const other = randomUUID();
    await stack.db.query(
      `INSERT INTO idempotency_keys (merchant_id, mode, key, method, route, path, fingerprint, request_params, recovery_point, response_status, response_headers, response_body, finished_at)
       SELECT merchant_id, mode, $1, method, route, path, fingerprint, request_params, 'finished', response_status, response_headers, response_body, now()
         FROM idempotency_keys WHERE key = $2`,
      [other, key],
    );
    const first = await counted(() => post(other));
    expect(first.result.headers.get('idempotent-replayed')).toBe('true');
    expect(first.statements).toHaveLength(2);
    const again = await counted(() => post(other));
    expect(again.statements).toEqual([]);
    expect(again.result.text).toBe(created.text);
  });
});
