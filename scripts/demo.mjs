/**
 * `npm run demo`: the promise, shown against a running `npm start` in a short narrated run — a payment,
 * its replay, a reused key (422), two requests racing on one key (409, then the replay), a provider
 * that never answers (202, then settled by the provider's signed webhook), a decline, a refund, and
 * the merchant's own signed webhooks received on a local port. Each request is printed with its
 * status and key headers; a step that misbehaves (a wrong status or body, a retry that charged
 * twice) stops the run with exit code 1; a server, sandbox or key that cannot be used is exit code 2.
 *
 * Reads IDEMPAY_URL (else http://127.0.0.1:$PORT, 3000), IDEMPAY_KEY (else the demo merchant's key
 * that `npm start` keeps in demo-merchant.json beside its embedded data: the folder above
 * $EMBEDDED_PG_DIR, .data/postgres) and SANDBOX_URL (else http://127.0.0.1:$SANDBOX_PORT, 4010).
 *
 * It changes the sandbox's knobs for two steps and puts back every knob it changed before it exits,
 * on failure too; its webhook endpoint is deleted the same way, and its idempotency keys are fresh
 * each run, so it can run any number of times against one server.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, STATUS_CODES } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { verifyWebhook } from '../sdk/src/verify-webhook.ts';

const env = process.env;
const API = (env.IDEMPAY_URL || `http://127.0.0.1:${env.PORT || 3000}`).replace(/\/+$/, '');
const SANDBOX = (env.SANDBOX_URL || `http://127.0.0.1:${env.SANDBOX_PORT || 4010}`).replace(/\/+$/, '');
const RUN = randomBytes(4).toString('hex');
/** Marks the demo's webhook endpoints, so one left by an interrupted run can be told apart and removed. */
const ENDPOINT_DESCRIPTION = 'npm run demo receiver';
/** Long enough for the provider budget of a 202 (8 s by default) and a slow machine. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long a settling payment and the merchant's webhooks are waited for. */
const WAIT_MS = 20_000;
/** The sandbox's fault knobs the demo turns off for its run when they are set, so every step is deterministic. */
const NO_FAULTS = { latency_ms: 0, jitter_ms: 0, error_rate: 0, timeout_rate: 0, reset_rate: 0, rate_limit_rate: 0, charge_then_fail_rate: 0 };

/** A step did not do what the contract says. */
class Misbehaved extends Error {}
/** The demo cannot run here: no server, no sandbox, no usable key. */
class CannotRun extends Error {}

const say = (line = '') => process.stdout.write(`${line}\n`);
/** The step running, named by the FAIL line when it misbehaves. */
let current = 0;
function step(n, title) {
  current = n;
  say(`\n${n}. ${title}`);
}
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
function check(condition, message) {
  if (!condition) throw new Misbehaved(message);
}

// ---- the API, the sandbox, and how their answers are printed ----

const apiKey = findKey();

async function request(base, method, path, { body, raw, headers = {}, idempotencyKey } = {}) {
  const sent = { ...headers };
  if (base === API) sent.authorization = `Bearer ${apiKey}`;
  if (idempotencyKey) sent['idempotency-key'] = idempotencyKey;
  const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined && !sent['content-type']) sent['content-type'] = 'application/json';
  const started = performance.now();
  let response;
  try {
    response = await fetch(`${base}${path}`, { method, headers: sent, body: payload, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    throw new Misbehaved(`${method} ${base}${path} got no answer: ${error.cause?.code ?? error.cause?.message ?? error.message}`);
  }
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { method, path, status: response.status, headers: response.headers, text, body: parsed, ms: Math.round(performance.now() - started) };
}

const api = (method, path, options) => request(API, method, path, options);
const sandbox = (method, path, body) => request(SANDBOX, method, path, { body });

const SHOWN_HEADERS = ['Location', 'Trace-Id', 'Idempotent-Replayed', 'Retry-After'];

function showRequest(method, path, { idempotencyKey, body, label = '' } = {}) {
  const key = idempotencyKey ? `  Idempotency-Key: ${idempotencyKey}` : '';
  say(`   ${label}→ ${method} ${path}${key}${body === undefined ? '' : `  ${JSON.stringify(body)}`}`);
}

function showAnswer(answer, { label = '', note = '' } = {}) {
  const headers = SHOWN_HEADERS.filter((name) => answer.headers.has(name)).map((name) => `${name}: ${answer.headers.get(name)}`);
  say(`   ${label}← ${answer.status} ${STATUS_CODES[answer.status] ?? ''} (${answer.ms} ms)  ${headers.join('  ')}${note ? `  · ${note}` : ''}`);
}

/** Sends, prints the request and its answer. */
async function send(method, path, options = {}) {
  showRequest(method, path, options);
  const answer = await api(method, path, options);
  showAnswer(answer, { note: summary(answer) });
  return answer;
}

/** What the body says, in a few words. */
function summary({ body }) {
  if (!body || typeof body !== 'object') return '';
  if (body.code) return `${body.code}: ${body.detail ?? ''}`;
  if (body.object === 'payment') return `${body.id} ${body.status}${body.failure_code ? ` (${body.failure_code})` : ''}`;
  if (body.object === 'refund') return `${body.id} ${body.status}, ${body.amount} ${body.currency}`;
  if (body.object === 'webhook_endpoint') return `${body.id}${body.deleted ? ' deleted' : ` → ${body.url}`}`;
  return '';
}

function expectStatus(answer, status) {
  check(answer.status === status, `${answer.method} ${answer.path} answered ${answer.status}, expected ${status}: ${answer.text.slice(0, 300)}`);
}

function expectProblem(answer, status, code) {
  expectStatus(answer, status);
  check((answer.headers.get('content-type') ?? '').startsWith('application/problem+json'), `a ${status} must be application/problem+json, got ${answer.headers.get('content-type')}`);
  check(answer.body?.code === code, `expected the problem ${code}, got ${answer.body?.code}`);
  check(answer.body?.trace_id === answer.headers.get('trace-id'), 'the problem\'s trace_id must be its Trace-Id');
}

function expectTraceId(answer) {
  check(/^[0-9a-f]{32}$/.test(answer.headers.get('trace-id') ?? ''), `${answer.method} ${answer.path}: no Trace-Id (32 hex) on the answer`);
}

function expectPayment(answer, status, paymentStatus) {
  expectStatus(answer, status);
  expectTraceId(answer);
  check(answer.body?.object === 'payment' && /^pay_/.test(answer.body.id), `expected a payment, got ${answer.text.slice(0, 300)}`);
  check(answer.body.status === paymentStatus, `expected the payment ${paymentStatus}, got ${answer.body.status}`);
  if (status === 201 || status === 202) check(answer.headers.get('location') === `/v1/payments/${answer.body.id}`, `Location must be /v1/payments/${answer.body.id}, got ${answer.headers.get('location')}`);
}

function expectReplayOf(replay, original) {
  check(replay.status === original.status, `the replay answered ${replay.status}, the original ${original.status}`);
  check(replay.headers.get('idempotent-replayed') === 'true', 'the replay must carry Idempotent-Replayed: true');
  check(replay.text === original.text, `the replay's body differs from the original's:\n     original ${original.text}\n     replay   ${replay.text}`);
  check(replay.headers.get('location') === original.headers.get('location'), 'the replay\'s Location differs from the original\'s');
}

/** How many times the sandbox really executed a provider key (`pay_…:charge`, `re_…:refund`). */
async function executions(providerKey) {
  const answer = await sandbox('GET', `/__sandbox/executions?key=${encodeURIComponent(providerKey)}`);
  check(answer.status === 200, `the sandbox's executions answered ${answer.status}`);
  return answer.body.executions;
}

async function expectChargedOnce(paymentId) {
  const count = await executions(`${paymentId}:charge`);
  check(count === 1, `the sandbox charged ${paymentId} ${count} times, expected once`);
}

async function until(what, probe, withinMs = WAIT_MS, everyMs = 200) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) throw new Misbehaved(`${what} did not happen within ${withinMs / 1000} s`);
    await sleep(everyMs);
  }
}

// ---- the sandbox's knobs: changed for a step, always put back ----

const knobs = {
  /** The value of each knob the demo changed, as it was before. */
  original: new Map(),
  /** What the knobs go back to between steps: no faults during the run. */
  baseline: new Map(),
  async set(patch) {
    const before = await sandbox('GET', '/__sandbox/config');
    for (const name of Object.keys(patch)) if (!this.original.has(name)) this.original.set(name, before.body[name]);
    const answer = await sandbox('POST', '/__sandbox/config', patch);
    check(answer.status === 200, `the sandbox refused the knobs ${JSON.stringify(patch)}: ${answer.text}`);
  },
  /** Back to the run's baseline after a step. */
  async settle() {
    const patch = Object.fromEntries([...this.original].map(([name, value]) => [name, this.baseline.has(name) ? this.baseline.get(name) : value]));
    if (Object.keys(patch).length > 0) await this.set(patch);
  },
  /** Back to what they were before the demo. */
  async restore() {
    if (this.original.size === 0) return;
    const answer = await sandbox('POST', '/__sandbox/config', Object.fromEntries(this.original));
    if (answer.status !== 200) throw new Error(`the sandbox's knobs could not be put back: ${answer.text}`);
    this.original.clear();
  },
};

// ---- a local server: the merchant's webhook endpoint, and where the sandbox's webhooks are held in step 5 ----

const receiver = {
  server: undefined,
  base: '',
  secret: undefined,
  /** Merchant webhooks whose signature verified, as { event, id }. */
  events: [],
  /** Merchant webhooks refused by the verifier. */
  refused: [],
  /** The sandbox's webhooks, held: { headers, body }. */
  held: [],
  async start() {
    this.server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/provider-webhooks') {
          this.held.push({ headers: req.headers, body });
          res.writeHead(200).end();
          return;
        }
        try {
          const event = verifyWebhook(body.toString('utf8'), req.headers, this.secret ?? []);
          this.events.push({ event, id: req.headers['webhook-id'] });
          res.writeHead(204).end();
        } catch (error) {
          this.refused.push(`${req.headers['webhook-id'] ?? '(no webhook-id)'}: ${error.message}`);
          res.writeHead(400).end();
        }
      });
    });
    await new Promise((done, fail) => this.server.once('error', fail).listen(0, '127.0.0.1', done));
    this.base = `http://127.0.0.1:${this.server.address().port}`;
  },
  /** The held sandbox webhooks go to the API, exactly as the sandbox signed them. */
  async release() {
    const answers = [];
    for (const { headers, body } of this.held.splice(0)) {
      const pass = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type'].map((name) => [name, headers[name]]).filter(([, value]) => value));
      answers.push({ type: JSON.parse(body).type, answer: await request(API, 'POST', '/provider-webhooks/sandbox', { raw: body, headers: pass }) });
    }
    return answers;
  },
  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
  },
};

// ---- the run ----

let endpointId;

async function preflight() {
  let probe;
  try {
    probe = await fetch(`${API}/v1/payments?limit=1`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new CannotRun(`no idempay at ${API} (${error.cause?.code ?? error.message}): start it with npm start, or set IDEMPAY_URL to where it listens`);
  }
  if (probe.status === 401) throw new CannotRun(`${API} refused the API key: set IDEMPAY_KEY to the "test key:" npm start printed`);
  if (probe.status !== 200) throw new CannotRun(`${API}/v1/payments answered ${probe.status}: is IDEMPAY_URL an idempay server?`);
  let config;
  try {
    config = await sandbox('GET', '/__sandbox/config');
  } catch {
    config = undefined;
  }
  if (config?.status !== 200 || typeof config.body?.latency_ms !== 'number') {
    throw new CannotRun(`no sandbox provider at ${SANDBOX}: set SANDBOX_URL to the one npm start printed ("sandbox provider (test mode) on …")`);
  }
  if (!config.body.webhook_signing_secret_set || !config.body.webhooks_enabled) {
    throw new CannotRun(`the sandbox at ${SANDBOX} sends no signed webhooks: run the API with npm start (which wires them), or give the sandbox SANDBOX_WEBHOOK_SIGNING_SECRET (one of the API's SANDBOX_WEBHOOK_SECRET)`);
  }
  const faults = Object.keys(NO_FAULTS).filter((name) => config.body[name] !== 0);
  for (const [name, value] of Object.entries(NO_FAULTS)) knobs.baseline.set(name, value);
  if (faults.length > 0) {
    await knobs.set(Object.fromEntries(faults.map((name) => [name, 0])));
    say(`   the sandbox's ${faults.map((name) => `${name} ${config.body[name]}`).join(', ')} are off during the demo and put back after`);
  }
}

async function setUp() {
  say(`idempay demo (run ${RUN}) against ${API}, sandbox ${SANDBOX}`);
  await preflight();
  await receiver.start();
  step(0, `a local webhook receiver on ${receiver.base}/hooks, registered as a webhook endpoint`);
  const stale = await api('GET', '/v1/webhook_endpoints?limit=100');
  for (const endpoint of stale.body?.data ?? []) {
    if (endpoint.description === ENDPOINT_DESCRIPTION) {
      await api('DELETE', `/v1/webhook_endpoints/${endpoint.id}`);
      say(`   (deleted ${endpoint.id}, left behind by an interrupted run)`);
    }
  }
  const body = { url: `${receiver.base}/hooks`, enabled_events: ['*'], description: ENDPOINT_DESCRIPTION };
  const created = await send('POST', '/v1/webhook_endpoints', { idempotencyKey: `demo-${RUN}-endpoint`, body });
  if (created.body?.code === 'webhook-url-unsafe') {
    throw new CannotRun(`${API} takes no webhook endpoint on 127.0.0.1: npm start allows it on its embedded database; elsewhere start it with WEBHOOK_ALLOWED_HOSTS=127.0.0.1`);
  }
  expectStatus(created, 201);
  check(/^whsec_/.test(created.body.secret ?? ''), 'the new endpoint\'s answer must carry its signing secret');
  endpointId = created.body.id;
  receiver.secret = created.body.secret;
  say(`   ok 0: endpoint ${endpointId}; its signing secret (whsec_…) is shown only in this answer, and kept by the receiver`);
}

const visa = { amount: 5000, currency: 'eur', payment_method: 'pm_card_visa' };

async function run() {
  await setUp();

  step(1, 'create a payment');
  const createKey = `demo-${RUN}-create`;
  const first = await send('POST', '/v1/payments', { idempotencyKey: createKey, body: visa });
  expectPayment(first, 201, 'succeeded');
  check(!first.headers.has('idempotent-replayed'), 'a first answer must not say Idempotent-Replayed');
  const paymentId = first.body.id;
  await expectChargedOnce(paymentId);
  say(`   ok 1: ${paymentId} succeeded, charged once by the sandbox`);

  step(2, 'the same request again, with the same Idempotency-Key (a client retrying after a lost answer)');
  const replay = await send('POST', '/v1/payments', { idempotencyKey: createKey, body: visa });
  expectReplayOf(replay, first);
  await expectChargedOnce(paymentId);
  say(`   ok 2: the stored answer, byte for byte, with Idempotent-Replayed: true; still charged once`);

  step(3, 'the same Idempotency-Key with a different body');
  const reused = await send('POST', '/v1/payments', { idempotencyKey: createKey, body: { ...visa, amount: 7500 } });
  expectProblem(reused, 422, 'idempotency-key-reused');
  check(reused.body.errors?.some((error) => error.field === 'amount'), 'the 422 must name the field that differs (amount)');
  await expectChargedOnce(paymentId);
  say('   ok 3: 422 idempotency-key-reused naming amount; nothing charged');

  step(4, 'two requests with one new key at once, while the first is still at the provider');
  await knobs.set({ latency_ms: 1_000 });
  say('   sandbox: latency_ms 1000, so the first request is still running when the second arrives');
  const raceKey = `demo-${RUN}-race`;
  const raceBody = { ...visa, amount: 2500, description: `npm run demo ${RUN}` };
  showRequest('POST', '/v1/payments', { idempotencyKey: raceKey, body: raceBody, label: 'A ' });
  showRequest('POST', '/v1/payments', { idempotencyKey: raceKey, body: raceBody, label: 'B ' });
  const racer = () => api('POST', '/v1/payments', { idempotencyKey: raceKey, body: raceBody }).then((answer) => ({ ...answer, at: Date.now() }));
  const [a, b] = await Promise.all([racer(), racer()]);
  showAnswer(a, { label: 'A ', note: summary(a) });
  showAnswer(b, { label: 'B ', note: summary(b) });
  const won = [a, b].find((answer) => answer.status === 201);
  const refused = [a, b].find((answer) => answer.status === 409);
  check(won && refused, `expected one 201 and one 409, got ${a.status} and ${b.status}`);
  expectPayment(won, 201, 'succeeded');
  expectProblem(refused, 409, 'idempotency-key-in-use');
  const retryAfter = Number(refused.headers.get('retry-after'));
  check(Number.isInteger(retryAfter) && retryAfter >= 0, `the 409 must carry Retry-After in seconds, got ${refused.headers.get('retry-after')}`);
  await sleep(Math.max(0, Math.min(retryAfter, 5) * 1000 - (Date.now() - refused.at)));
  say(`   the refused one retries after Retry-After (${retryAfter} s):`);
  const retried = await send('POST', '/v1/payments', { idempotencyKey: raceKey, body: raceBody });
  expectReplayOf(retried, won);
  await knobs.settle();
  const raced = won.body.id;
  await expectChargedOnce(raced);
  say(`   ok 4: one 201, one 409 idempotency-key-in-use with Retry-After; the retry got the 201's answer; ${raced} charged once`);

  step(5, 'the provider takes the charge but never answers → 202, then its webhook settles the payment');
  await knobs.set({ charge_then_fail_rate: 1, charge_then_fail_mode: 'hang', webhook_url: `${receiver.base}/provider-webhooks` });
  say('   sandbox: charge_then_fail_rate 1 (mode hang): charges run, their answers never come; its signed webhooks are held by');
  say('   the demo until the API has answered (the API waits out its provider budget, PROVIDER_BUDGET_MS, 8 s by default)');
  const slow = await send('POST', '/v1/payments', { idempotencyKey: `demo-${RUN}-timeout`, body: { ...visa, amount: 1200 } });
  expectPayment(slow, 202, 'processing');
  const slowId = slow.body.id;
  await until(`the sandbox's webhook for ${slowId}`, () => receiver.held.some(({ body }) => JSON.parse(body).data?.object?.idempotency_key === `${slowId}:charge`), 5_000);
  for (const { type, answer } of await receiver.release()) {
    showRequest('POST', '/provider-webhooks/sandbox', { label: `(${type}, signed by the sandbox) ` });
    showAnswer(answer, { note: answer.text });
    check(answer.status === 200 && answer.body?.received === true, `the API did not accept the sandbox's ${type} webhook: ${answer.status} ${answer.text}`);
  }
  // The knob stays on while waiting: the reconciler's lookups hang too, so only the webhook can settle it.
  const settled = await until(`${slowId} settling`, async () => {
    const now = await api('GET', `/v1/payments/${slowId}`);
    return now.status === 200 && now.body.status !== 'processing' ? now : undefined;
  });
  showRequest('GET', `/v1/payments/${slowId}`);
  showAnswer(settled, { note: summary(settled) });
  expectPayment(settled, 200, 'succeeded');
  await knobs.settle();
  await expectChargedOnce(slowId);
  say(`   ok 5: 202 processing, then succeeded by the provider's webhook; charged once`);

  step(6, 'a declined card');
  const declined = await send('POST', '/v1/payments', { idempotencyKey: `demo-${RUN}-decline`, body: { ...visa, payment_method: 'pm_card_declined' } });
  expectPayment(declined, 201, 'failed');
  check(declined.body.failure_code === 'card_declined', `expected failure_code card_declined, got ${declined.body.failure_code}`);
  say(`   ok 6: a decline is a 201 with status failed and failure_code card_declined (not an error: the request worked)`);

  step(7, `refund the first payment`);
  const refund = await send('POST', `/v1/payments/${paymentId}/refunds`, { idempotencyKey: `demo-${RUN}-refund`, body: {} });
  expectStatus(refund, 201);
  expectTraceId(refund);
  check(refund.body?.object === 'refund' && refund.body.status === 'succeeded' && refund.body.payment === paymentId, `expected a succeeded refund of ${paymentId}, got ${refund.text.slice(0, 300)}`);
  check(refund.body.amount === visa.amount, `{} refunds everything: expected ${visa.amount}, got ${refund.body.amount}`);
  check(refund.headers.get('location') === `/v1/payments/${paymentId}/refunds/${refund.body.id}`, `Location must be the refund's URL, got ${refund.headers.get('location')}`);
  const refundRuns = await executions(`${refund.body.id}:refund`);
  check(refundRuns === 1, `the sandbox refunded ${refund.body.id} ${refundRuns} times, expected once`);
  say(`   ok 7: ${refund.body.id} succeeded for all ${refund.body.amount} ${refund.body.currency}`);

  step(8, 'the merchant\'s webhooks, received on the local endpoint, signatures verified with its secret');
  const wanted = [
    ['payment.succeeded', paymentId],
    ['payment.succeeded', raced],
    ['payment.processing', slowId],
    ['payment.succeeded', slowId],
    ['payment.failed', declined.body.id],
    ['refund.succeeded', refund.body.id],
  ];
  const arrived = ([type, id]) => receiver.events.find(({ event }) => event.type === type && event.data.object.id === id);
  await until('the webhooks of this run', () => receiver.refused.length > 0 || wanted.every(arrived));
  check(receiver.refused.length === 0, `webhooks whose signature did not verify: ${receiver.refused.join('; ')}`);
  for (const want of wanted) {
    const { event, id } = arrived(want);
    say(`   ← ${event.type} ${id} for ${event.data.object.id} (sequence ${event.sequence}): signature verified`);
  }
  const deleted = await send('DELETE', `/v1/webhook_endpoints/${endpointId}`);
  expectStatus(deleted, 200);
  check(deleted.body?.deleted === true, 'the delete must answer deleted: true');
  endpointId = undefined;
  say(`   ok 8: ${receiver.events.length} webhooks received, every signature verified; endpoint deleted`);
}

/** Whatever the run changed goes back, whether it ended well or not. */
async function cleanUp() {
  const problems = [];
  const attempt = async (what, work) => {
    try {
      await work();
    } catch (error) {
      problems.push(`${what}: ${error.message}`);
    }
  };
  await attempt('putting the sandbox\'s knobs back', () => knobs.restore());
  // Held provider webhooks are not lost: the API gets them, late.
  await attempt('passing on the sandbox\'s held webhooks', () => receiver.release());
  if (endpointId) await attempt(`deleting the webhook endpoint ${endpointId}`, () => api('DELETE', `/v1/webhook_endpoints/${endpointId}`));
  await attempt('closing the receiver', () => receiver.stop());
  for (const problem of problems) say(`   cleanup failed, ${problem}`);
  return problems.length === 0;
}

function findKey() {
  if (env.IDEMPAY_KEY) return env.IDEMPAY_KEY;
  const file = resolve(join(dirname(env.EMBEDDED_PG_DIR || '.data/postgres'), 'demo-merchant.json'));
  if (existsSync(file)) {
    try {
      const key = JSON.parse(readFileSync(file, 'utf8')).test_key;
      if (typeof key === 'string') return key;
    } catch {
      // Reported below with the file's name.
    }
  }
  say(`npm run demo needs a test API key: set IDEMPAY_KEY=sk_test_… (npm start prints it as "test key:"), or EMBEDDED_PG_DIR`);
  say(`to the data folder of the npm start to use (no readable ${file})`);
  process.exit(2);
}

let code = 0;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    say(`\n${signal}: putting things back`);
    void cleanUp().finally(() => process.exit(130));
  });
}
try {
  if (!apiKey.startsWith('sk_test_')) throw new CannotRun('the demo runs in test mode, against the sandbox: IDEMPAY_KEY must be an sk_test_ key');
  await run();
  say(`\ndemo ${RUN}: every step behaved as openapi/v1.yaml says`);
} catch (error) {
  code = error instanceof CannotRun ? 2 : 1;
  if (error instanceof Misbehaved) say(`   FAIL ${current}: ${error.message}`);
  else if (error instanceof CannotRun) say(`cannot run the demo: ${error.message}`);
  else say(`   FAIL ${current}: ${error.stack ?? error}`);
}
if (!interrupted) {
  if (!(await cleanUp()) && code === 0) code = 1;
  if (code === 1) say(`\ndemo ${RUN} failed: a step did not behave as openapi/v1.yaml says`);
  process.exit(code);
}
