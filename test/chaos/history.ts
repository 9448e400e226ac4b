import pg from 'pg';
import { chargeKeyOf } from '../../src/payments/payment.js';
import { refundKeyOf } from '../../src/refunds/refund.js';

/** One attempt a client made, and what it got: a status and body, or no answer at all. */
export interface Exchange {
  method: string;
  path: string;
  idempotencyKey?: string;
  /** When the attempt was sent and when its answer (or its failure) came, on this process's `performance.now()` clock. */
  sentAt?: number;
  answeredAt?: number;
  /** Undefined when the attempt got no answer (connection refused or reset, timeout). */
  status?: number;
  contentType?: string | null;
  text?: string;
  code?: string;
  retryAfter?: string | null;
  replayed?: boolean;
  /** The id in a 2xx body: the payment or refund the server acknowledged. */
  id?: string;
  error?: string;
}

/** The kinds of broken promise the check tells apart, each counted in a verdict (0 when none). */
export const VIOLATION_KINDS = [
  'replayChanged',
  'acknowledgedMissing',
  'duplicateRows',
  'chargedTwice',
  'succeededUnexecuted',
  'executionWithoutRow',
  'overRefunded',
  'unsettled',
  'locked',
  'processedTwice',
  'undelivered',
  'deliveredTwice',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** What the database and the provider say happened, against what the clients were told. */
export interface Verdict {
  requests: number;
  keys: number;
  acknowledged: number;
  replays: number;
  noAnswer: number;
  byStatus: Record<string, number>;
  byKind: Record<ViolationKind, number>;
  violations: string[];
}

export interface CheckOptions {
  databaseUrl: string;
  /** The sandbox provider whose executions count the money really moved. */
  sandboxUrl: string;
  /** Only this merchant's rows are judged (a database shared with other tests holds others). */
  merchantId: string;
  /** Every payment and refund has left `pending`/`processing`. */
  settled?: boolean;
  /** Every idempotency key is finished: none still claimed or stranded. */
  unlocked?: boolean;
  /** No state change made twice: each transition of a payment and each event (but `payment.updated`) once. */
  processedOnce?: boolean;
  /**
   * The `webhook-id`s an always-2xx receiver got: every event reached it, and with `once` none twice
   * (a kill -9 between the receiver's 2xx and its record may rightly send one again).
   */
  deliveries?: { received: string[]; once: boolean };
}

const CREATES = [
  { pattern: /^\/v1\/payments$/, table: 'payments', providerKey: chargeKeyOf },
  { pattern: /^\/v1\/payments\/[^/]+\/refunds$/, table: 'refunds', providerKey: refundKeyOf },
] as const;

/**
 * Answers a client may get and retry with the same key: the key is busy (409 in use), the server is
 * overloaded or down (429, 5xx), or no answer came. Every other answer is the key's final one, and
 * every later answer for the key must repeat it byte for byte.
 */
export function isFinal(exchange: Exchange): boolean {
  if (exchange.status === undefined || exchange.status >= 500 || exchange.status === 429) return false;
  return !(exchange.status === 409 && exchange.code === 'idempotency-key-in-use');
}

/**
 * The record of every request the suites send and every answer they get, checked at the end against
 * the database and the sandbox's executions: per key at most one row and at most one execution at
 * the provider, every acknowledged id present exactly once, every replay identical to the first answer.
 * The reliability suites share it; each adds the checks only its scenario can make.
 */
export class History {
  readonly exchanges: Exchange[] = [];

  record(exchange: Exchange): void {
    this.exchanges.push(exchange);
  }

  /** A `fetch` that records each attempt made through it (give it to the SDK as its `fetch`). */
  recordingFetch(inner: typeof fetch = fetch): typeof fetch {
    return async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      const exchange: Exchange = {
        method: request.method,
        path: url.pathname,
        idempotencyKey: request.headers.get('idempotency-key') ?? undefined,
        sentAt: performance.now(),
      };
      try {
        const response = await inner(request);
        const text = await response.clone().text();
        Object.assign(exchange, answerFields(response.status, response.headers, text));
        this.record(exchange);
        return response;
      } catch (error) {
        exchange.error = String((error as Error).cause ?? error);
        exchange.answeredAt = performance.now();
        this.record(exchange);
        throw error;
      }
    };
  }

  /** One request with `fetch`, recorded, for suites that do not go through the SDK. */
  async send(baseUrl: string, method: string, path: string, init: { body?: string; headers: Record<string, string> }): Promise<Exchange> {
    const exchange: Exchange = { method, path, idempotencyKey: init.headers['idempotency-key'], sentAt: performance.now() };
    try {
      const response = await fetch(`${baseUrl}${path}`, { method, headers: init.headers, body: init.body });
      Object.assign(exchange, answerFields(response.status, response.headers, await response.text()));
    } catch (error) {
      exchange.error = String((error as Error).cause ?? error);
      exchange.answeredAt = performance.now();
    }
    this.record(exchange);
    return exchange;
  }

  /** The answers each idempotency key got, in the order they came. */
  byKey(): Map<string, Exchange[]> {
    const keys = new Map<string, Exchange[]>();
    for (const exchange of this.exchanges) {
      if (exchange.idempotencyKey === undefined) continue;
      const id = `${exchange.method} ${exchange.idempotencyKey}`;
      keys.set(id, [...(keys.get(id) ?? []), exchange]);
    }
    return keys;
  }

  async check(options: CheckOptions): Promise<Verdict> {
    const violations: string[] = [];
    const byKind = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<ViolationKind, number>;
    const violate = (kind: ViolationKind, message: string) => {
      byKind[kind]++;
      violations.push(message);
    };
    const byStatus: Record<string, number> = {};
    for (const e of this.exchanges) byStatus[e.status ?? 'no answer'] = (byStatus[e.status ?? 'no answer'] ?? 0) + 1;

    let replays = 0;
    const acknowledged = new Map<string, { table: string; id: string; key: string }>();
    for (const [key, answers] of this.byKey()) {
      const finals = answers.filter(isFinal);
      replays += Math.max(0, finals.length - 1);
      const first = finals[0];
      for (const later of finals.slice(1)) {
        if (later.status !== first.status || later.text !== first.text) {
          violate('replayChanged', `${key}: answered ${first.status} ${clip(first.text)} and later ${later.status} ${clip(later.text)}`);
        }
      }
      const create = first && CREATES.find((c) => c.pattern.test(first.path));
      if (create && first.status! < 300) {
        if (!first.id) violate('acknowledgedMissing', `${key}: a ${first.status} without an id`);
        else acknowledged.set(`${create.table} ${first.id}`, { table: create.table, id: first.id, key: first.idempotencyKey! });
      }
    }

    const db = new pg.Client({ connectionString: options.databaseUrl });
    await db.connect();
    try {
      const rows = async (table: string) =>
        (await db.query(`SELECT id, operation_id, status, amount, provider_key${table === 'refunds' ? ', payment_id' : ''} FROM ${table} WHERE merchant_id = $1`, [options.merchantId]))
          .rows as { id: string; operation_id: string; status: string; amount: string; provider_key: string; payment_id?: string }[];
      const payments = await rows('payments');
      const refunds = await rows('refunds');
      const tables = { payments, refunds };

      for (const { table, id, key } of acknowledged.values()) {
        const found = tables[table as keyof typeof tables].filter((r) => r.id === id);
        if (found.length !== 1) violate('acknowledgedMissing', `${table} ${id} (key ${key}) was acknowledged but is in the database ${found.length} times`);
        else if (found[0].operation_id !== key) violate('acknowledgedMissing', `${table} ${id} was acknowledged for key ${key} but stored under ${found[0].operation_id}`);
      }
      for (const [table, list] of Object.entries(tables)) {
        const perKey = new Map<string, number>();
        for (const r of list) perKey.set(r.operation_id, (perKey.get(r.operation_id) ?? 0) + 1);
        for (const [key, n] of perKey) if (n > 1) violate('duplicateRows', `${table}: key ${key} has ${n} rows`);
      }

      const executions = await sandboxExecutions(options.sandboxUrl);
      const providerKeys = new Set<string>();
      for (const [table, list] of Object.entries(tables)) {
        const keyOf = CREATES.find((c) => c.table === table)!.providerKey;
        for (const r of list) {
          providerKeys.add(r.provider_key);
          const n = executions.get(keyOf(r.id)) ?? 0;
          if (n > 1) violate('chargedTwice', `${table} ${r.id} (key ${r.operation_id}) executed ${n} times at the provider`);
          if (r.status === 'succeeded' && n === 0) violate('succeededUnexecuted', `${table} ${r.id} is succeeded but never executed at the provider`);
        }
      }
      for (const [providerKey, n] of executions) {
        if (!providerKeys.has(providerKey)) violate('executionWithoutRow', `the provider executed ${providerKey} ${n} times, for no row of this merchant`);
      }

      const amounts = new Map(payments.map((p) => [p.id, Number(p.amount)]));
      const refunded = new Map<string, number>();
      for (const r of refunds) if (r.status !== 'failed') refunded.set(r.payment_id!, (refunded.get(r.payment_id!) ?? 0) + Number(r.amount));
      for (const [paymentId, sum] of refunded) {
        if (sum > (amounts.get(paymentId) ?? 0)) violate('overRefunded', `payment ${paymentId} of ${amounts.get(paymentId)} has ${sum} refunded`);
      }

      if (options.settled) {
        for (const [table, list] of Object.entries(tables)) {
          for (const r of list) if (r.status === 'pending' || r.status === 'processing') violate('unsettled', `${table} ${r.id} is still ${r.status}`);
        }
      }
      if (options.unlocked) {
        const open = await db.query(`SELECT key, recovery_point FROM idempotency_keys WHERE merchant_id = $1 AND recovery_point <> 'finished'`, [options.merchantId]);
        for (const k of open.rows) violate('locked', `idempotency key ${k.key} is unfinished at ${k.recovery_point}`);
      }
      if (options.processedOnce) {
        const twice = await db.query(
          `SELECT payment_id, from_status, to_status, count(*)::int AS n FROM payment_transitions WHERE merchant_id = $1
            GROUP BY 1, 2, 3 HAVING count(*) > 1`,
          [options.merchantId],
        );
        for (const t of twice.rows) violate('processedTwice', `payment ${t.payment_id} went ${t.from_status} → ${t.to_status} ${t.n} times`);
        const events = await db.query(
          `SELECT type, COALESCE(refund_id, payment_id) AS object, count(*)::int AS n FROM events WHERE merchant_id = $1 AND type <> 'payment.updated'
            GROUP BY 1, 2 HAVING count(*) > 1`,
          [options.merchantId],
        );
        for (const e of events.rows) violate('processedTwice', `${e.type} of ${e.object} was recorded ${e.n} times`);
      }
      if (options.deliveries) {
        const received = new Map<string, number>();
        for (const id of options.deliveries.received) received.set(id, (received.get(id) ?? 0) + 1);
        const events = await db.query(`SELECT id FROM events WHERE merchant_id = $1`, [options.merchantId]);
        for (const { id } of events.rows) {
          const n = received.get(id) ?? 0;
          if (n === 0) violate('undelivered', `event ${id} never reached the endpoint`);
          if (n > 1 && options.deliveries.once) violate('deliveredTwice', `event ${id} reached the endpoint ${n} times`);
        }
      }
    } finally {
      await db.end();
    }
    return {
      requests: this.exchanges.length,
      keys: this.byKey().size,
      acknowledged: acknowledged.size,
      replays,
      noAnswer: byStatus['no answer'] ?? 0,
      byStatus,
      byKind,
      violations,
    };
  }
}

/** How many times the sandbox executed each provider key: the money that really moved. */
export async function sandboxExecutions(sandboxUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${sandboxUrl}/__sandbox/executions`);
  const body = (await res.json()) as { executions: Record<string, number> };
  return new Map(Object.entries(body.executions));
}

/** What an exchange records of an answer, for a suite that sends through a client of its own (raw headers, repeated ones). */
export function answerFields(status: number, headers: Headers, text: string): Partial<Exchange> {
  let body: { id?: unknown; code?: unknown } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return {
    answeredAt: performance.now(),
    status,
    contentType: headers.get('content-type'),
    text,
    code: typeof body?.code === 'string' ? body.code : undefined,
    id: status < 300 && typeof body?.id === 'string' ? body.id : undefined,
    retryAfter: headers.get('retry-after'),
    replayed: headers.get('idempotent-replayed') === 'true',
  };
}

function clip(text: string | undefined): string {
  return text === undefined ? '' : text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
