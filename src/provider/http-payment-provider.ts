import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import { AppConfig } from '../config/app-config.js';
import { type ChargeOutcome, type ChargeRequest, type ChargeResult, PaymentProvider } from './payment-provider.js';

interface ChargeBody {
  id?: string;
  status?: string;
  failure_code?: string | null;
  failure_message?: string | null;
}

/** The provider over HTTP (the sandbox in test mode), every call bounded by a timeout. */
@Injectable()
export class HttpPaymentProvider extends PaymentProvider implements OnApplicationShutdown {
  readonly name = 'sandbox';
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

  constructor(private readonly config: AppConfig) {
    super();
  }

  async charge(charge: ChargeRequest): Promise<ChargeResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const response = await request(new URL('/v1/charges', this.baseUrl()), {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', 'idempotency-key': charge.providerKey },
        body: JSON.stringify({
          amount: charge.amount,
          currency: charge.currency,
          payment_method: charge.paymentMethod,
          reference: charge.reference,
        }),
        signal: AbortSignal.timeout(this.config.providerTimeoutMs),
      });
      const text = await response.body.text();
      return { outcome: this.outcomeOf(response.statusCode, text), httpStatus: response.statusCode, latencyMs: elapsed() };
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : `network: ${error instanceof Error ? error.message : String(error)}`;
      return { outcome: { kind: 'unknown', reason }, httpStatus: null, latencyMs: elapsed() };
    }
  }

  onApplicationShutdown(): Promise<void> {
    return this.agent.close();
  }

  private baseUrl(): string {
    if (!this.config.providerUrl) throw new Error('PROVIDER_URL is not set and no sandbox provider was started');
    return this.config.providerUrl;
  }

  private outcomeOf(status: number, text: string): ChargeOutcome {
    if (status >= 500 || status === 429 || status === 408) return { kind: 'unknown', reason: `http ${status}` };
    if (status >= 400) {
      // Any other 4xx is the provider refusing the request outright: nothing was charged.
      return { kind: 'failed', chargeId: null, failureCode: 'processing_error', failureMessage: `The provider refused the charge (HTTP ${status}).` };
    }
    const body = parseJson(text);
    if (body?.status === 'succeeded' && body.id) return { kind: 'succeeded', chargeId: body.id };
    if (body?.status === 'failed') {
      return {
        kind: 'failed',
        chargeId: body.id ?? null,
        failureCode: body.failure_code ?? 'card_declined',
        failureMessage: body.failure_message ?? 'The payment was declined.',
      };
    }
    return { kind: 'unknown', reason: `unexpected provider answer (HTTP ${status})` };
  }
}

function parseJson(text: string): ChargeBody | undefined {
  try {
    return JSON.parse(text) as ChargeBody;
  } catch {
    return undefined;
  }
}
