/**
 * The requests: autocannon for throughput (the same tool and settings for every server), and a
 * one-at-a-time client for the passes that count per request. Every answer goes to an AnswerBook.
 */
import autocannon from 'autocannon';
import { Client } from 'undici';

export const PAYMENT_BODY = JSON.stringify({ amount: 5000, currency: 'eur', payment_method: 'pm_card_visa' });

/** Fresh Idempotency-Keys, unique across runs and servers. */
export function keyMaker(prefix) {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

const lowerCased = (headers) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));

/**
 * Runs autocannon: `connections` for `seconds` (or `amount` requests, stopped at `maxSeconds`), every request a POST
 * /v1/payments with the key `keyFor()` gives. `onAnswer(key, status, body, headers)` sees each answer.
 * Returns throughput and latency of the 2xx answers, and what was not one.
 */
export async function load({ url, headers, connections, seconds, amount, maxSeconds, keyFor, onAnswer, onResponse }) {
  const instance = autocannon({
    url,
    connections,
    pipelining: 1,
    ...(amount ? { amount } : { duration: seconds }),
    requests: [
      {
        method: 'POST',
        path: '/v1/payments',
        body: PAYMENT_BODY,
        // One request in flight per connection, so the connection's context tells which key an answer is for.
        setupRequest: (request, context) => {
          context.key = keyFor();
          return { ...request, headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': context.key } };
        },
        onResponse: (status, body, context, answerHeaders) => onAnswer(context.key, status, body, lowerCased(answerHeaders)),
      },
    ],
  });
  if (onResponse) instance.on('response', onResponse);
  const cap = maxSeconds && setTimeout(() => instance.stop(), maxSeconds * 1000);
  const result = await instance;
  clearTimeout(cap);
  return {
    seconds: result.duration,
    ok: result['2xx'],
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
  };
}

/** One request at a time over one keep-alive connection; returns each request's latency in ms. */
export async function sequential({ url, headers, keys, onAnswer }) {
  const client = new Client(url, { pipelining: 1 });
  const latencies = [];
  try {
    for (const key of keys) {
      const started = performance.now();
      const response = await client.request({
        method: 'POST',
        path: '/v1/payments',
        headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': key },
        body: PAYMENT_BODY,
      });
      const body = await response.body.text();
      latencies.push(performance.now() - started);
      onAnswer(key, response.statusCode, body, lowerCased(response.headers));
    }
  } finally {
    await client.close();
  }
  return latencies;
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
