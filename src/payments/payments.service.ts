import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context.js';
import { ProblemError } from '../errors/problem.js';
import type { components } from '../generated/v1.js';
import { DEFAULT_PAGE_LIMIT, toPage } from '../http/page-query.js';
import type { ListPaymentsQuery } from './dto/list-payments.query.js';
import { type PaymentRow, toPaymentResource } from './payment.js';
import { PaymentsRepository } from './payments.repository.js';

type PaymentList = components['schemas']['PaymentList'];

/** Reads. Writes are the idempotent operations in operations/. */
@Injectable()
export class PaymentsService {
  constructor(private readonly payments: PaymentsRepository) {}

  /** The payment as stored; each API version renders it its own way. */
  async get(auth: AuthContext, id: string): Promise<PaymentRow> {
    const payment = await this.payments.findById(auth, id);
    // Another merchant's payment, or one of the other mode, is as unknown as a missing one.
    if (!payment) throw new ProblemError('resource-not-found', `No payment ${id}.`);
    return payment;
  }

  async list(auth: AuthContext, query: ListPaymentsQuery): Promise<PaymentList> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.payments.list(auth, limit, query.starting_after);
    return toPage(rows, limit, '/v1/payments', toPaymentResource);
  }
}
