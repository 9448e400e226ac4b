import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Verifier } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, keyHint } from '../../src/auth/api-key.js';
import { fingerprintOf } from '../../src/idempotency/idempotency.service.js';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { SDK_VERSION } from '../../sdk/src/index.js';
import { resetStack, type Stack, startStack } from '../support/harness.js';
import { PUBLIC_V4, stubHostResolver, type TableResolver } from '../support/host-resolver-stub.js';
import {
  CHECKOUT_WEBHOOK,
  CONTRACT_API_KEY,
  CONTRACT_MERCHANT_ID,
  CREATE_BODY,
  EXISTING_PAYMENT_ID,
  IDEMPOTENCY_KEYS,
  PACTS_DIR,
  PROVIDER,
  STATES,
} from './fixtures.js';

/** Every consumer's pact, released or not: `pacts/<consumer>/<version>.json`. */
const pactFiles = readdirSync(PACTS_DIR, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.json') && file !== 'released.json')
  .sort();

interface PactFile {
  consumer: { name: string };
  provider: { name: string };
  interactions: { description: string; providerStates?: { name: string }[] }[];
}
const readPact = (file: string): PactFile => JSON.parse(readFileSync(join(PACTS_DIR, file), 'utf8'));

interface VerifierResults {
  interactionResults: { description: string; result: string }[];
  errors: { interaction: string; mismatch: { mismatches?: { mismatch: string }[]; message?: string } }[];
}

/** The verifier fails with its whole JSON report as the message; the mismatches are what matter. */
function readable(error: Error): Error {
  let report: VerifierResults;
  try {
    report = JSON.parse(error.message);
  } catch {
    return error;
  }
  const lines = report.errors.flatMap(({ interaction, mismatch }) => [
    interaction,
    ...(mismatch.mismatches?.map((m) => `  ${m.mismatch}`) ?? [`  ${mismatch.message}`]),
  ]);
  return new Error(`the API breaks the pact:\n${lines.join('\n')}`);
}

let stack: Stack;
/** What the SSRF guard's resolver answers: empty, so no name resolves unless a state says so. */
let dns: TableResolver;

async function seedMerchant(): Promise<void> {
  await stack.db.query(`INSERT INTO merchants (id, name) VALUES ($1, 'Contract merchant') ON CONFLICT DO NOTHING`, [CONTRACT_MERCHANT_ID]);
  await stack.db.query(
    `INSERT INTO api_keys (id, merchant_id, mode, key_hash, key_hint) VALUES ('key_pact_contract', $1, 'test', $2, $3) ON CONFLICT DO NOTHING`,
    [CONTRACT_MERCHANT_ID, hashApiKey(CONTRACT_API_KEY), keyHint(CONTRACT_API_KEY)],
  );
}

/*
 * The proxy of the verifier answers 200 to a state handler that throws and only logs it, and merely
 * warns about a state it has no handler for: both are recorded here and fail the test, so an
 * interaction never passes on a state that was not set up.
 */
const stateErrors: string[] = [];

const handlers: Record<string, () => Promise<void>> = {
  [STATES.merchant]: seedMerchant,

  async [STATES.payment]() {
    await seedMerchant();
    await stack.db.query(
      `INSERT INTO payments (id, merchant_id, mode, operation_id, request_fingerprint, amount, currency, payment_method,
                             description, metadata, status, provider_key)
       VALUES ($1, $2, 'test', 'pact-seeded-payment', $3, $4, $5, $6, $7, $8, 'succeeded', $9)`,
      [EXISTING_PAYMENT_ID, CONTRACT_MERCHANT_ID, 'seeded', CREATE_BODY.amount, CREATE_BODY.currency, CREATE_BODY.payment_method,
        CREATE_BODY.description, CREATE_BODY.metadata, chargeKeyOf(EXISTING_PAYMENT_ID)],
    );
  },

  // Through the running API, so the stored answer is exactly what the API stores for a first request.
  async [STATES.finishedKey]() {
    await seedMerchant();
    const response = await fetch(`${stack.baseUrl}/v1/payments`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${CONTRACT_API_KEY}`,
        'idempotency-key': IDEMPOTENCY_KEYS.replay,
        'content-type': 'application/json',
      },
      body: JSON.stringify(CREATE_BODY),
    });
    if (response.status !== 201) throw new Error(`seeding the replay key answered ${response.status}: ${await response.text()}`);
  },

  // The row a live request holds: leased now by another owner, for the very request the consumer sends.
  async [STATES.inUseKey]() {
    await seedMerchant();
    const request = { method: 'POST', route: 'POST /v1/payments', path: '/v1/payments', pathParams: {}, body: CREATE_BODY };
    await stack.db.query(
      `INSERT INTO idempotency_keys (merchant_id, mode, key, method, route, path, path_params, fingerprint, request_params, locked_at, locked_by)
       VALUES ($1, 'test', $2, $3, $4, $5, $6, $7, $8, now(), $9)`,
      [CONTRACT_MERCHANT_ID, IDEMPOTENCY_KEYS.inUse, request.method, request.route, request.path, request.pathParams,
        fingerprintOf(request), request.body, randomUUID()],
    );
  },

  // Without DNS: the guard gets a public address for the partner's host from the stubbed resolver.
  async [STATES.webhookHost]() {
    dns.table[CHECKOUT_WEBHOOK.host] = [PUBLIC_V4];
  },
};

const stateHandlers = Object.fromEntries(
  Object.entries(handlers).map(([state, seed]) => [
    state,
    async () => {
      try {
        await seed();
      } catch (error) {
        stateErrors.push(`${state}: ${(error as Error).message}`);
        throw error;
      }
    },
  ]),
);

beforeAll(async () => {
  stack = await startStack();
  dns = stubHostResolver(stack, {});
});
afterAll(() => stack?.close());

describe(`${PROVIDER} honours every consumer's pact`, () => {
  it('finds the pacts of both consumers, each naming this provider and only states it can set up', () => {
    expect(pactFiles).toEqual(expect.arrayContaining(['partner-checkout/1.0.0.json', `idempay-sdk/${SDK_VERSION}.json`]));
    for (const file of pactFiles) {
      const pact = readPact(file);
      expect(`${pact.consumer.name}/`, file).toBe(file.slice(0, file.indexOf('/') + 1));
      expect(pact.provider.name, file).toBe(PROVIDER);
      for (const interaction of pact.interactions) {
        const states = (interaction.providerStates ?? []).map((s) => s.name);
        expect(states.length, `${file}: "${interaction.description}" names no provider state`).toBeGreaterThan(0);
        for (const state of states) expect(Object.keys(handlers), `${file}: "${interaction.description}"`).toContain(state);
      }
    }
  });

  it.each(pactFiles)('verifies %s against the running API', async (file) => {
    stateErrors.length = 0;
    const verifier = new Verifier({
      provider: PROVIDER,
      providerBaseUrl: stack.baseUrl,
      pactUrls: [join(PACTS_DIR, file)],
      stateHandlers,
      beforeEach: async () => {
        for (const host of Object.keys(dns.table)) delete dns.table[host];
        await resetStack(stack);
      },
      logLevel: 'error',
    });
    const results: VerifierResults = JSON.parse(await verifier.verifyProvider().catch((error: Error) => Promise.reject(readable(error))));
    expect(stateErrors).toEqual([]);
    const verified = results.interactionResults.map((r) => `${r.description}: ${r.result}`).sort();
    expect(verified).toEqual(readPact(file).interactions.map((i) => `${i.description}: OK`).sort());
  });
});
