import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context.js';
import { ProblemError } from '../../errors/problem.js';
import { Outbox } from '../../events/outbox.js';
import type { ClaimedKey } from '../../idempotency/claimed-key.js';
import { IdempotencyService } from '../../idempotency/idempotency.service.js';
import { jsonResponse, type StoredResponse } from '../../idempotency/stored-response.js';
import { METADATA_LIMITS } from '../dto/is-metadata.js';
import { UpdatePaymentDto } from '../dto/update-payment.dto.js';
import { toPaymentResource } from '../payment.js';
import { PaymentsRepository } from '../payments.repository.js';

/**
 * PATCH /v1/payments/{id}: one phase that changes the payment and stores the answer together. Its
 * key is never left past `started`, so there is nothing for the completer to resume.
 */
@Injectable()
export class UpdatePaymentOperation {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly payments: PaymentsRepository,
    private readonly outbox: Outbox,
  ) {}

  run(auth: AuthContext, paymentId: string, dto: UpdatePaymentDto, key: ClaimedKey): Promise<StoredResponse> {
    return this.idempotency.phase(key, async (m) => {
      const payment = await this.payments.findById(auth, paymentId, m, true);
      if (!payment) throw new ProblemError('resource-not-found', `No payment ${paymentId}.`);

      const metadata = { ...payment.metadata, ...dto.metadata };
      // Only the keys this update sets to '' go: an empty value the payment was created with stays.
      for (const [name, value] of Object.entries(dto.metadata ?? {})) if (value === '') delete metadata[name];
      if (Object.keys(metadata).length > METADATA_LIMITS.keys) {
        throw new ProblemError('validation-failed', `A payment may have at most ${METADATA_LIMITS.keys} metadata keys.`, [
          { field: 'metadata', message: `would have ${Object.keys(metadata).length} keys, more than ${METADATA_LIMITS.keys}` },
        ]);
      }
      const description = dto.description !== undefined ? dto.description : payment.description;
      const updated = await this.payments.updateDetails(m, payment.id, description, metadata);
      const resource = toPaymentResource(updated);
      await this.outbox.append(m, auth, { paymentId: payment.id, type: 'payment.updated', resource });
      return this.idempotency.finish(m, key, jsonResponse(200, resource));
    });
  }
}
