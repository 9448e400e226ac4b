import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import { AppConfig } from '../config/app-config.js';
import { traceHeaders } from '../observability/trace-context.js';
import type { Mode } from '../auth/auth-context.js';
import {
  type ChargeRequest,
  PaymentProvider,
  PaymentProviders,
  type ProviderAnswer,
  type RefundRequest,
  TransientProviderError,
} from './payment-provider.js';

interface ProviderBody {
  id?: string;
  status?: string;
  failure_code?: string | null;
  failure_message?: string | null;
  error?: { code?: string };
}

/** Error codes of undici that mean the request never left: nothing can have executed. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A provider over HTTP: one attempt per call, bounded by its signal. */
class HttpPaymentProvider extends PaymentProvider {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });

  constructor(
    readonly name: string,
    private readonly baseUrl: string,
  ) {
    super();
  }

  charge(charge: ChargeRequest, signal: AbortSignal): Promise<ProviderAnswer> {
    return this.send('POST', '/v1/charges', signal, charge.providerKey, {
      amount: charge.amount,
      currency: charge.currency,
      payment_method: charge.paymentMethod,
      reference: charge.reference,
    });
  }

  refund(refund: RefundRequest, signal: AbortSignal): Promise<ProviderAnswer> {
    return this.send('POST', '/v1/refunds', signal, refund.providerKey, {
      charge: refund.chargeId,
      amount: refund.amount,
      currency: refund.currency,
      reference: refund.reference,
    });
  }

  findCharge(providerKey: string, signal: AbortSignal): Promise<ProviderAnswer> {
    return this.send('GET', `/v1/charges?idempotency_key=${encodeURIComponent(providerKey)}`, signal);
  }

  findRefund(providerKey: string, signal: AbortSignal): Promise<ProviderAnswer> {
    return this.send('GET', `/v1/refunds?idempotency_key=${encodeURIComponent(providerKey)}`, signal);
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async send(method: 'GET' | 'POST', path: string, signal: AbortSignal, providerKey?: string, body?: unknown): Promise<ProviderAnswer> {
    let status: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const response = await request(new URL(path, this.baseUrl), {
        method,
        dispatcher: this.agent,
        // The trace context of the attempt, so the provider's side joins the request's trace.
        headers: { 'content-type': 'application/json', ...(providerKey ? { 'idempotency-key': providerKey } : {}), ...traceHeaders() },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      status = response.statusCode;
      retryAfter = response.headers['retry-after'];
      text = await response.body.text();
    } catch (error) {
      if (signal.aborted) throw new TransientProviderError('timeout', true);
      const code = (error as { code?: string }).code ?? '';
      if (NOT_SENT.has(code)) throw new TransientProviderError('connect', false);
      throw new TransientProviderError('reset', true);
    }
    return answerOf(method, status, text, retryAfter);
  }
}

/** Test mode on the sandbox at SANDBOX_URL; live mode on PROVIDER_URL only, which must not be the sandbox. */
@Injectable()
export class HttpPaymentProviders extends PaymentProviders implements OnApplicationShutdown {
  private readonly byMode = new Map<Mode, HttpPaymentProvider>();

  constructor(config: AppConfig) {
    super();
    if (!config.sandboxUrl) throw new Error('SANDBOX_URL is not set and no sandbox provider was started');
    if (config.providerUrl && new URL(config.providerUrl).href === new URL(config.sandboxUrl).href) {
      throw new Error('PROVIDER_URL is the sandbox: live payments must never be charged through the sandbox');
    }
    this.byMode.set('test', new HttpPaymentProvider('sandbox', config.sandboxUrl));
    if (config.providerUrl) this.byMode.set('live', new HttpPaymentProvider(config.providerName, config.providerUrl));
  }

  forMode(mode: Mode): PaymentProvider | undefined {
    return this.byMode.get(mode);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.byMode.values()].map((provider) => provider.close()));
  }
}

function answerOf(method: string, status: number, text: string, retryAfter: string | string[] | undefined): ProviderAnswer {
  if (status === 429) {
    const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    // A 429 is the provider refusing before acting: nothing executed.
    throw new TransientProviderError('http', false, 429, Number.isFinite(seconds) ? seconds * 1000 : null);
  }
  if (status >= 500 || status === 408) throw new TransientProviderError('http', true, status);
  const body = parseJson(text);
  if (status === 404 && method === 'GET') return { kind: 'not_found' };
  if (status >= 400) return { kind: 'rejected', httpStatus: status, code: body?.error?.code ?? 'processing_error' };
  if (body?.status === 'succeeded' && body.id) return { kind: 'succeeded', id: body.id };
  if (body?.status === 'failed') {
    return {
      kind: 'failed',
      id: body.id ?? null,
      failureCode: body.failure_code ?? 'card_declined',
      failureMessage: body.failure_message ?? 'The payment was declined.',
    };
  }
  // A 2xx we cannot read may still have executed: treat it as not knowing.
  throw new TransientProviderError('http', true, status);
}

function parseJson(text: string): ProviderBody | undefined {
  try {
    return JSON.parse(text) as ProviderBody;
  } catch {
    return undefined;
  }
}
