import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MatchersV3, PactV4, type V3MockServer } from '@pact-foundation/pact';
import { afterAll, describe, expect, it } from 'vitest';
import { Idempay, IdempayError, SDK_VERSION } from '../../sdk/src/index.js';
import {
  CONTRACT_API_KEY,
  CREATE_BODY,
  EXISTING_PAYMENT_ID,
  ID_PATTERN,
  IDEMPOTENCY_KEYS,
  JSON_CONTENT_TYPE,
  MISSING_PAYMENT_ID,
  pactFileOf,
  PROBLEM_CONTENT_TYPE,
  PROVIDER,
  REUSED_BODY,
  settlePactFile,
  STATES,
  TIMESTAMP_PATTERN,
  TRACE_ID_PATTERN,
  UNKNOWN_API_KEY,
  UPDATE_BODY,
} from './fixtures.js';

const { eachLike, integer, like, regex, boolean } = MatchersV3;

const CONSUMER = 'idempay-sdk';

const DESCRIPTIONS = {
  create: 'a request to create a payment',
  replay: 'a retry of a finished create with the same Idempotency-Key and body',
  reused: 'a create reusing a finished Idempotency-Key with another body',
  inUse: 'a create with an Idempotency-Key whose first request is still running',
  unknownKey: 'a request with an unknown API key',
  missing: 'a request for a payment that does not exist',
  retrieve: 'a request for an existing payment',
  update: 'a request to update the description of a payment',
  list: 'a request to list payments',
};

const EXAMPLE_ID = 'pay_01JD8X4Q5R2Z7K9M3N6P8T0V2A';
const EXAMPLE_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const EXAMPLE_TIME = '2025-11-22T14:28:00.000Z';

const workDir = mkdtempSync(join(tmpdir(), 'pact-idempay-sdk-'));
const pact = new PactV4({ consumer: CONSUMER, provider: PROVIDER, dir: workDir, host: '127.0.0.1', logLevel: 'warn' });
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

// One request per interaction: a retry would be a second request the interaction does not expect.
const sdk = (server: V3MockServer, apiKey = CONTRACT_API_KEY) => new Idempay({ apiKey, baseUrl: server.url, maxRetries: 0 });

const authorization = (apiKey = CONTRACT_API_KEY) => ({ Authorization: `Bearer ${apiKey}` });
const idempotentHeaders = (key: string) => ({ ...authorization(), 'Idempotency-Key': key, 'Content-Type': 'application/json' });

const traceIdHeader = { 'Trace-Id': regex(TRACE_ID_PATTERN, EXAMPLE_TRACE_ID) };
const jsonHeaders = { 'Content-Type': regex(JSON_CONTENT_TYPE, 'application/json'), ...traceIdHeader };
const createdHeaders = { ...jsonHeaders, Location: regex(/^\/v1\/payments\/pay_[0-9A-Za-z]+$/, `/v1/payments/${EXAMPLE_ID}`) };

/** What a create promises back: the request's own values, its key as operation_id, generated ids and times. */
function createdPayment(body: typeof CREATE_BODY, idempotencyKey: string) {
  return {
    id: regex(ID_PATTERN, EXAMPLE_ID),
    object: 'payment',
    amount: body.amount,
    currency: body.currency,
    status: 'succeeded',
    payment_method: body.payment_method,
    description: body.description,
    metadata: body.metadata,
    failure_code: null,
    failure_message: null,
    operation_id: idempotencyKey,
    livemode: false,
    created_at: regex(TIMESTAMP_PATTERN, EXAMPLE_TIME),
    updated_at: regex(TIMESTAMP_PATTERN, EXAMPLE_TIME),
  };
}

/** The succeeded test-mode payment of the provider state, read back: its values are the state's, only their types matter. */
const storedPayment = {
  id: EXISTING_PAYMENT_ID,
  object: 'payment',
  amount: integer(CREATE_BODY.amount),
  currency: like(CREATE_BODY.currency),
  status: 'succeeded',
  payment_method: like(CREATE_BODY.payment_method),
  description: like(CREATE_BODY.description),
  metadata: like(CREATE_BODY.metadata),
  failure_code: null,
  failure_message: null,
  operation_id: like('order-1042'),
  livemode: false,
  created_at: regex(TIMESTAMP_PATTERN, EXAMPLE_TIME),
  updated_at: regex(TIMESTAMP_PATTERN, EXAMPLE_TIME),
};

function problem(status: number, code: string, errors?: { field: string }[]) {
  return {
    type: `urn:idempay:problem:${code}`,
    title: like('A title'),
    status,
    detail: like('What happened'),
    code,
    trace_id: regex(TRACE_ID_PATTERN, EXAMPLE_TRACE_ID),
    ...(errors ? { errors: errors.map(({ field }) => ({ field, message: like('why') })) } : {}),
  };
}
const problemHeaders = { 'Content-Type': regex(PROBLEM_CONTENT_TYPE, 'application/problem+json'), ...traceIdHeader };

async function refusal(call: Promise<unknown>): Promise<IdempayError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IdempayError);
  return error as IdempayError;
}

describe(`${CONSUMER} ${SDK_VERSION}, the consumer of ${PROVIDER}`, () => {
  it('creates a payment: 201 with the payment, its Location and the Trace-Id', () =>
    pact
      .addInteraction()
      .given(STATES.merchant)
      .uponReceiving(DESCRIPTIONS.create)
      .withRequest('POST', '/v1/payments', (b) => b.headers(idempotentHeaders(IDEMPOTENCY_KEYS.create)).jsonBody(CREATE_BODY))
      .willRespondWith(201, (b) => b.headers(createdHeaders).jsonBody(createdPayment(CREATE_BODY, IDEMPOTENCY_KEYS.create)))
      .executeTest(async (server) => {
        const payment = await sdk(server).payments.create(CREATE_BODY, { idempotencyKey: IDEMPOTENCY_KEYS.create });
        expect(payment).toMatchObject({ id: EXAMPLE_ID, status: 'succeeded', operation_id: IDEMPOTENCY_KEYS.create });
        expect(payment.lastResponse).toMatchObject({
          status: 201,
          traceId: EXAMPLE_TRACE_ID,
          idempotencyKey: IDEMPOTENCY_KEYS.create,
          replayed: false,
          attempts: 1,
        });
      }));

  it('retries a finished create: the stored 201, marked Idempotent-Replayed', () =>
    pact
      .addInteraction()
      .given(STATES.finishedKey)
      .uponReceiving(DESCRIPTIONS.replay)
      .withRequest('POST', '/v1/payments', (b) => b.headers(idempotentHeaders(IDEMPOTENCY_KEYS.replay)).jsonBody(CREATE_BODY))
      .willRespondWith(201, (b) =>
        b.headers({ ...createdHeaders, 'Idempotent-Replayed': 'true' }).jsonBody(createdPayment(CREATE_BODY, IDEMPOTENCY_KEYS.replay)),
      )
      .executeTest(async (server) => {
        const payment = await sdk(server).payments.create(CREATE_BODY, { idempotencyKey: IDEMPOTENCY_KEYS.replay });
        expect(payment.operation_id).toBe(IDEMPOTENCY_KEYS.replay);
        expect(payment.lastResponse).toMatchObject({ status: 201, replayed: true, idempotencyKey: IDEMPOTENCY_KEYS.replay });
      }));

  it('reuses a finished key with another body: 422 idempotency-key-reused naming the field', () =>
    pact
      .addInteraction()
      .given(STATES.finishedKey)
      .uponReceiving(DESCRIPTIONS.reused)
      .withRequest('POST', '/v1/payments', (b) => b.headers(idempotentHeaders(IDEMPOTENCY_KEYS.replay)).jsonBody(REUSED_BODY))
      .willRespondWith(422, (b) => b.headers(problemHeaders).jsonBody(problem(422, 'idempotency-key-reused', [{ field: 'amount' }])))
      .executeTest(async (server) => {
        const error = await refusal(sdk(server).payments.create(REUSED_BODY, { idempotencyKey: IDEMPOTENCY_KEYS.replay }));
        expect(error).toMatchObject({ status: 422, code: 'idempotency-key-reused', traceId: EXAMPLE_TRACE_ID, attempts: 1 });
        expect(error.problem?.errors?.map((e) => e.field)).toEqual(['amount']);
      }));

  it('sends a key whose first request still runs: 409 idempotency-key-in-use with Retry-After', () =>
    pact
      .addInteraction()
      .given(STATES.inUseKey)
      .uponReceiving(DESCRIPTIONS.inUse)
      .withRequest('POST', '/v1/payments', (b) => b.headers(idempotentHeaders(IDEMPOTENCY_KEYS.inUse)).jsonBody(CREATE_BODY))
      .willRespondWith(409, (b) =>
        b.headers({ ...problemHeaders, 'Retry-After': regex(/^[0-9]+$/, '1') }).jsonBody(problem(409, 'idempotency-key-in-use')),
      )
      .executeTest(async (server) => {
        const error = await refusal(sdk(server).payments.create(CREATE_BODY, { idempotencyKey: IDEMPOTENCY_KEYS.inUse }));
        expect(error).toMatchObject({ status: 409, code: 'idempotency-key-in-use', idempotencyKey: IDEMPOTENCY_KEYS.inUse, attempts: 1 });
      }));

  it('sends an unknown API key: 401 api-key-invalid', () =>
    pact
      .addInteraction()
      .given(STATES.merchant)
      .uponReceiving(DESCRIPTIONS.unknownKey)
      .withRequest('GET', '/v1/payments', (b) => b.headers(authorization(UNKNOWN_API_KEY)))
      .willRespondWith(401, (b) => b.headers(problemHeaders).jsonBody(problem(401, 'api-key-invalid')))
      .executeTest(async (server) => {
        const error = await refusal(sdk(server, UNKNOWN_API_KEY).payments.list());
        expect(error).toMatchObject({ status: 401, code: 'api-key-invalid', traceId: EXAMPLE_TRACE_ID });
      }));

  it('retrieves a payment that does not exist: 404 resource-not-found', () =>
    pact
      .addInteraction()
      .given(STATES.payment)
      .uponReceiving(DESCRIPTIONS.missing)
      .withRequest('GET', `/v1/payments/${MISSING_PAYMENT_ID}`, (b) => b.headers(authorization()))
      .willRespondWith(404, (b) => b.headers(problemHeaders).jsonBody(problem(404, 'resource-not-found')))
      .executeTest(async (server) => {
        const error = await refusal(sdk(server).payments.retrieve(MISSING_PAYMENT_ID));
        expect(error).toMatchObject({ status: 404, code: 'resource-not-found' });
      }));

  it('retrieves a payment', () =>
    pact
      .addInteraction()
      .given(STATES.payment)
      .uponReceiving(DESCRIPTIONS.retrieve)
      .withRequest('GET', `/v1/payments/${EXISTING_PAYMENT_ID}`, (b) => b.headers(authorization()))
      .willRespondWith(200, (b) => b.headers(jsonHeaders).jsonBody(storedPayment))
      .executeTest(async (server) => {
        const payment = await sdk(server).payments.retrieve(EXISTING_PAYMENT_ID);
        expect(payment).toMatchObject({ id: EXISTING_PAYMENT_ID, object: 'payment', amount: CREATE_BODY.amount });
        expect(payment.lastResponse).toMatchObject({ status: 200, traceId: EXAMPLE_TRACE_ID, idempotencyKey: null });
      }));

  it('updates the description of a payment', () =>
    pact
      .addInteraction()
      .given(STATES.payment)
      .uponReceiving(DESCRIPTIONS.update)
      .withRequest('PATCH', `/v1/payments/${EXISTING_PAYMENT_ID}`, (b) =>
        b.headers(idempotentHeaders(IDEMPOTENCY_KEYS.update)).jsonBody(UPDATE_BODY),
      )
      .willRespondWith(200, (b) => b.headers(jsonHeaders).jsonBody({ ...storedPayment, description: UPDATE_BODY.description }))
      .executeTest(async (server) => {
        const payment = await sdk(server).payments.update(EXISTING_PAYMENT_ID, UPDATE_BODY, { idempotencyKey: IDEMPOTENCY_KEYS.update });
        expect(payment.description).toBe(UPDATE_BODY.description);
        expect(payment.lastResponse).toMatchObject({ status: 200, idempotencyKey: IDEMPOTENCY_KEYS.update, replayed: false });
      }));

  it('lists payments', () =>
    pact
      .addInteraction()
      .given(STATES.payment)
      .uponReceiving(DESCRIPTIONS.list)
      .withRequest('GET', '/v1/payments', (b) => b.headers(authorization()).query({ limit: '10' }))
      .willRespondWith(200, (b) =>
        b.headers(jsonHeaders).jsonBody({ object: 'list', url: '/v1/payments', data: eachLike(storedPayment), has_more: boolean(false) }),
      )
      .executeTest(async (server) => {
        const page = await sdk(server).payments.list({ limit: 10 });
        expect(page).toMatchObject({ object: 'list', has_more: false });
        expect(page.data.map((p) => p.id)).toEqual([EXISTING_PAYMENT_ID]);
      }));

  it(`writes its contract to pacts/${CONSUMER}/${SDK_VERSION}.json`, () => {
    const written = join(workDir, `${CONSUMER}-${PROVIDER}.json`);
    const interactions: { description: string }[] = JSON.parse(readFileSync(written, 'utf8')).interactions;
    expect(interactions.map((i) => i.description).sort()).toEqual(Object.values(DESCRIPTIONS).sort());
    settlePactFile(written, pactFileOf(CONSUMER, SDK_VERSION));
  });
});
