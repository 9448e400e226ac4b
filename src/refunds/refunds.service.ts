import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context.js';
import { ProblemError } from '../errors/problem.js';
import type { components } from '../generated/v1.js';
import { DEFAULT_PAGE_LIMIT, toPage } from '../http/page-query.js';
import type { ListRefundsQuery } from './dto/list-refunds.query.js';
import { type RefundResource, toRefundResource } from './refund.js';
import { RefundsRepository } from './refunds.repository.js';

type RefundList = components['schemas']['RefundList'];

/** Reads. The write is CreateRefundOperation. */
@Injectable()
export class RefundsService {
  constructor(private readonly refunds: RefundsRepository) {}

  async get(auth: AuthContext, paymentId: string, refundId: string): Promise<RefundResource> {
    const refund = await this.refunds.findById(auth, paymentId, refundId);
    if (!refund) throw new ProblemError('resource-not-found', `No refund ${refundId} of payment ${paymentId}.`);
    return toRefundResource(refund);
  }

  async list(auth: AuthContext, paymentId: string, query: ListRefundsQuery): Promise<RefundList> {
    // Another merchant's payment, or one of the other mode, is as unknown as a missing one.
    if (!(await this.refunds.findPayment(auth, paymentId))) throw new ProblemError('resource-not-found', `No payment ${paymentId}.`);
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.refunds.list(auth, paymentId, limit, query.starting_after);
    return toPage(rows, limit, `/v1/payments/${paymentId}/refunds`, toRefundResource);
  }
}
