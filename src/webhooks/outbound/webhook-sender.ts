import { Injectable } from '@nestjs/common';
import { request } from 'undici';
import { AppConfig } from '../../config/app-config.js';
import { renderEvent } from '../../events/event.js';
import { traceHeaders } from '../../observability/trace-context.js';
import type { DueDelivery } from './delivery-leases.repository.js';
import { PinnedAgents } from './pinned-agents.js';
import { retryAfterMs } from './retry-after.js';
import { SsrfGuard, UnsafeUrlError } from './ssrf-guard.js';
import { webhookSignature } from '../webhook-signature.js';

/** What one POST to an endpoint came to. */
export interface AttemptResult {
  /** The endpoint's status code; null when none came (refused URL, timeout, connection error). */
  httpStatus: number | null;
  /** Why it is not a success; null for a 2xx. */
  error: string | null;
  latencyMs: number;
  /** What the endpoint's `Retry-After` asked for, in ms. */
  retryAfterMs?: number;
}

class AttemptTimeout extends Error {}

/**
 * One delivery attempt: the URL checked by the SSRF guard (every time: DNS may have changed since
 * the endpoint was created), then a signed POST to the very address it checked, inside the attempt
 * timeout, redirects not followed. Never throws: every failure is an attempt result.
 */
@Injectable()
export class WebhookSender {
  constructor(
    private readonly config: AppConfig,
    private readonly guard: SsrfGuard,
    private readonly agents: PinnedAgents,
  ) {}

  async send(delivery: DueDelivery): Promise<AttemptResult> {
    const started = performance.now();
    const timeoutMs = this.config.webhookAttemptTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new AttemptTimeout()), timeoutMs);
    const latencyMs = () => Math.round(performance.now() - started);
    try {
      if (delivery.secrets.length === 0) return { httpStatus: null, error: 'the endpoint has no active signing secret', latencyMs: latencyMs() };
      const target = await Promise.race([this.guard.check(delivery.url), aborted(controller.signal)]);
      const body = renderEvent(delivery.event);
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await request(target.url, {
        method: 'POST',
        dispatcher: this.agents.for(target),
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'idempay-webhooks/1',
          'webhook-id': delivery.event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': webhookSignature(delivery.event.id, timestamp, body, delivery.secrets),
          // The trace of the change the event reports, so the merchant can follow it into their own.
          ...traceHeaders(),
        },
        body,
      });
      // The answer's body means nothing to us; it is read (up to undici's dump limit) so the connection can be reused.
      await response.body.dump();
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { httpStatus: status, error: null, latencyMs: latencyMs() };
      const error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}`;
      return { httpStatus: status, error, latencyMs: latencyMs(), retryAfterMs: retryAfterMs(response.headers['retry-after']) };
    } catch (error) {
      return { httpStatus: null, error: describe(error, controller.signal, timeoutMs), latencyMs: latencyMs() };
    } finally {
      clearTimeout(timer);
    }
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
}

function describe(error: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted && signal.reason instanceof AttemptTimeout) return `no answer within ${timeoutMs} ms`;
  if (error instanceof UnsafeUrlError) return `unsafe URL: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
