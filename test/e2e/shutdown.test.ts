import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { CreatedMerchant } from '../../src/auth/merchants.service.js';
import { type ChildServer, startChildServer } from '../support/child-server.js';
import { call, chargesFor, createMerchant, resetStack, sleep, type Stack, startStack, visa } from '../support/harness.js';
import { createEndpoint } from '../support/webhook-endpoints.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const GRACE_MS = 8_000;

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A request whose head is sent but for its last line: the connection is busy with it, so a server
 * shutting down neither drops it as idle nor stops it being answered. `finish` sends the rest, and
 * the server sees the request then.
 */
async function partialRequest(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<{ finish(): Promise<RawAnswer> }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  const closed = once(socket, 'close');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}`);
  return {
    async finish() {
      socket.write('\r\n');
      await closed;
      const [head, payload] = [data.slice(0, data.indexOf('\r\n\r\n')), data.slice(data.indexOf('\r\n\r\n') + 4)];
      const [statusLine, ...lines] = head.split('\r\n');
      const fields: Record<string, string> = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      return { status: Number(statusLine.split(' ')[1]), headers: fields, body: fields['transfer-encoding'] === 'chunked' ? unchunked(payload) : payload };
    },
  };
}

/** A chunked body's bytes (ASCII here: JSON). */
function unchunked(payload: string): string {
  let body = '';
  for (let at = 0; ; ) {
    const end = payload.indexOf('\r\n', at);
    const size = parseInt(payload.slice(at, end), 16);
    if (!size) return body;
    body += payload.slice(end + 2, end + 2 + size);
    at = end + 2 + size + 2;
  }
}

/** Until `check` holds, or fail after `ms`. */
async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(20);
  }
}

let stack: Stack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(async () => {
  await resetStack(stack);
  merchant = await createMerchant(stack);
});

describe('SIGTERM', () => {
  it('turns readiness false at once and refuses new requests, finishes the create in flight (201, its key finished), and exits 0 within the grace', async () => {
    stack.sandbox.latencyMs = 1_500;
    let child: ChildServer | undefined;
    try {
      child = await startChildServer({ DATABASE_URL: stack.config.databaseUrl!, SANDBOX_URL: stack.sandboxUrl, SHUTDOWN_GRACE_MS: String(GRACE_MS) });
      expect((await call(child.baseUrl, 'GET', '/health/ready', undefined, { spec: false })).status).toBe(200);
      // Requests already on the wire when the signal lands: they reach the server during the drain.
      const probe = await partialRequest(child.baseUrl, '/health/ready');
      const late = await partialRequest(child.baseUrl, '/v1/payments', { authorization: `Bearer ${merchant.test_key}` });

      const key = randomUUID();
      const inFlight = call(child.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: key });
      // Awaited below; a failure before that point must not leave it rejecting unheard.
      inFlight.catch(() => undefined);
      // Claimed, and now in its 1.5 s provider call.
      await waitFor(async () => (await stack.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).length === 1, 'the claim');
      child.process.kill('SIGTERM');
      const signalled = performance.now();
      await sleep(200);

      const ready = await probe.finish();
      expect(ready.status).toBe(503);
      // Terminus says `shutting_down` once the app's shutdown hooks have begun.
      const readiness = JSON.parse(ready.body);
      expect(['error', 'shutting_down']).toContain(readiness.status);
      expect(readiness.error).toEqual({ draining: { status: 'down', message: 'shutting down' } });
      const refused = await late.finish();
      expect(refused.status).toBe(503);
      expect(refused.headers.connection).toBe('close');
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'service-unavailable' });
      // A new connection is refused outright, or told the same.
      const fresh = await fetch(`${child.baseUrl}/health/ready`).then((res) => res.status, () => 'refused');
      expect([503, 'refused']).toContain(fresh);

      const answer = await inFlight;
      expect(answer.status).toBe(201);
      expect(chargesFor(stack, answer.body.id)).toBe(1);
      expect(await child.exited).toBe(0);
      expect(performance.now() - signalled).toBeLessThan(GRACE_MS);

      expect(await stack.db.query('SELECT recovery_point, locked_at FROM idempotency_keys WHERE key = $1', [key])).toEqual([{ recovery_point: 'finished', locked_at: null }]);
      expect(await stack.db.query(`SELECT key FROM idempotency_keys WHERE recovery_point <> 'finished' OR locked_at IS NOT NULL`)).toEqual([]);
    } finally {
      child?.process.kill('SIGKILL');
      stack.sandbox.latencyMs = 0;
    }
  });

  it('lets a running job finish: a webhook delivery in flight is answered and recorded before the process exits 0', async () => {
    const receiver = await WebhookReceiver.start(() => ({ status: 204, delayMs: 1_500 }));
    let child: ChildServer | undefined;
    try {
      await createEndpoint(stack.db, merchant.merchant_id, receiver.url, { events: ['payment.succeeded'] });
      child = await startChildServer({
        DATABASE_URL: stack.config.databaseUrl!,
        SANDBOX_URL: stack.sandboxUrl,
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
        JOBS_ENABLED: 'true',
        WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        WEBHOOK_POLL_INTERVAL_MS: '100',
        RECONCILE_BASE_MS: '120000',
      });
      const paid = await call(child.baseUrl, 'POST', '/v1/payments', visa, { key: merchant.test_key, idempotencyKey: randomUUID() });
      expect(paid.status).toBe(201);
      // The child's delivery job has sent it; the endpoint answers 1.5 s later.
      await waitFor(() => receiver.received.length === 1, 'the delivery');
      child.process.kill('SIGTERM');
      const signalled = performance.now();

      expect(await child.exited).toBe(0);
      expect(performance.now() - signalled).toBeLessThan(GRACE_MS);
      expect(receiver.received).toHaveLength(1);
      const deliveries: { status: string; attempts: number; last_http_status: number }[] = await stack.db.query(
        `SELECT d.status, d.attempts, d.last_http_status FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE e.payment_id = $1`,
        [paid.body.id],
      );
      expect(deliveries).toEqual([{ status: 'delivered', attempts: 1, last_http_status: 204 }]);
    } finally {
      child?.process.kill('SIGKILL');
      await receiver.close();
      // The runs it left queued would hold the stately queues for the next stacks with jobs on.
      const client = new pg.Client({ connectionString: inject('databaseUrl') });
      await client.connect();
      await client.query(`DELETE FROM pgboss.job WHERE name IN ('reconcile', 'webhook-delivery') AND state = 'created'`).finally(() => client.end());
    }
  });
});
