import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config.js';
import { ProblemError } from '../../errors/problem.js';
import { JobQueue } from '../../jobs/job-queue.js';
import { providerWebhooksRefusedTotal } from './inbound-metrics.js';
import { enqueueInTransaction } from './inbox-queue.js';
import { InboxRepository } from './inbox.repository.js';
import { parseProviderEvent } from './provider-event.js';
import { WebhookProviders } from './webhook-providers.js';
import { webhookHeadersOf } from './webhook-headers.js';
import { checkSignature } from '../webhook-signature.js';

/**
 * Receives a provider's webhook: verified on its raw bytes, then stored once per event id with its
 * job, and answered. Nothing is applied here: the answer must come within milliseconds whatever the
 * state of the payment, and the provider's retries must never depend on our work succeeding.
 * An operator redrives an event given up on (the console; the CLI does the same on its own connection).
 */
@Injectable()
export class InboxService {
  constructor(
    private readonly db: DataSource,
    private readonly providers: WebhookProviders,
    private readonly inbox: InboxRepository,
    private readonly queue: JobQueue,
    private readonly config: AppConfig,
  ) {}

  /** Stores the event (a duplicate stores nothing) or throws the refusal, counted; nothing is stored when refused. */
  async receive(providerName: string, headers: Record<string, string[] | undefined>, body: Buffer): Promise<void> {
    const provider = this.providers.find(providerName);
    try {
      if (!provider) throw new ProblemError('webhook-provider-unknown', `No webhooks are received from a provider named ${JSON.stringify(providerName.slice(0, 100))}.`);
      const signed = webhookHeadersOf(headers);
      const check = checkSignature(provider.keys, signed, body, Math.floor(Date.now() / 1000), this.config.webhookToleranceSeconds);
      if (check === 'signature-invalid') throw new ProblemError('webhook-signature-invalid', 'No webhook-signature matches the body with a secret of this provider.');
      if (check === 'timestamp-out-of-tolerance') {
        throw new ProblemError('webhook-timestamp-out-of-tolerance', `The webhook-timestamp must be within ${this.config.webhookToleranceSeconds} s of now.`);
      }
      const { event, text } = parseProviderEvent(body, signed.id);
      await this.db.transaction(async (m) => {
        const id = await this.inbox.insert(m, provider.name, event.id, event.type, text);
        const boss = this.queue.boss;
        if (id && boss) await enqueueInTransaction(boss, m, id);
      });
    } catch (error) {
      // Any name can be sent in the URL: unknown ones share one label, so the counter's size stays bounded.
      if (error instanceof ProblemError) providerWebhooksRefusedTotal.inc({ provider: provider?.name ?? '(unknown)', reason: error.code });
      throw error;
    }
  }

  /** Back to `received` with its tries forgotten, applied by the next pass; false when there is no such event. */
  async redrive(id: string): Promise<boolean> {
    return (await this.inbox.redrive([id])).length === 1;
  }
}
