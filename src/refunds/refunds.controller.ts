import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { Auth, type AuthContext } from '../auth/auth-context.js';
import type { components } from '../generated/v1.js';
import { DtoPipe } from '../http/dto.pipe.js';
import type { ClaimedKey } from '../idempotency/claimed-key.js';
import { Idempotent, IdempotencyKey } from '../idempotency/idempotent.decorator.js';
import type { StoredResponse } from '../idempotency/stored-response.js';
import { CreateRefundDto } from './dto/create-refund.dto.js';
import { ListRefundsQuery } from './dto/list-refunds.query.js';
import { CreateRefundOperation } from './operations/create-refund.operation.js';
import type { RefundResource } from './refund.js';
import { RefundsService } from './refunds.service.js';

@Controller('v1/payments/:id/refunds')
export class RefundsController {
  constructor(
    private readonly refunds: RefundsService,
    private readonly createRefund: CreateRefundOperation,
  ) {}

  @Post()
  @Idempotent({ body: CreateRefundDto })
  create(
    @Auth() auth: AuthContext,
    @Param('id') paymentId: string,
    @Body() dto: CreateRefundDto,
    @IdempotencyKey() key: ClaimedKey,
  ): Promise<StoredResponse> {
    return this.createRefund.run(auth, paymentId, dto, key);
  }

  @Get()
  list(
    @Auth() auth: AuthContext,
    @Param('id') paymentId: string,
    @Query(new DtoPipe(ListRefundsQuery)) query: ListRefundsQuery,
  ): Promise<components['schemas']['RefundList']> {
    return this.refunds.list(auth, paymentId, query);
  }

  @Get(':refundId')
  get(@Auth() auth: AuthContext, @Param('id') paymentId: string, @Param('refundId') refundId: string): Promise<RefundResource> {
    return this.refunds.get(auth, paymentId, refundId);
  }
}
