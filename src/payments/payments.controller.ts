import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { Auth, type AuthContext } from '../auth/auth-context.js';
import { DtoPipe } from '../http/dto.pipe.js';
import type { ClaimedKey, IdempotentCall } from '../idempotency/claimed-key.js';
import type { Replayed } from '../idempotency/idempotency.service.js';
import { Idempotent, IdempotencyCall, IdempotencyKey } from '../idempotency/idempotent.decorator.js';
import type { StoredResponse } from '../idempotency/stored-response.js';
import { CreatePaymentDto } from './dto/create-payment.dto.js';
import { ListPaymentsQuery } from './dto/list-payments.query.js';
import { UpdatePaymentDto } from './dto/update-payment.dto.js';
import { CreatePaymentOperation } from './operations/create-payment.operation.js';
import { UpdatePaymentOperation } from './operations/update-payment.operation.js';
import { type PaymentResource, toPaymentResource } from './payment.js';
import { PaymentsService } from './payments.service.js';
import type { components } from '../generated/v1.js';

@Controller('v1/payments')
export class PaymentsController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly createPayment: CreatePaymentOperation,
    private readonly updatePayment: UpdatePaymentOperation,
  ) {}

  @Post()
  @Idempotent({ body: CreatePaymentDto, claimedByOperation: true })
  create(@Auth() auth: AuthContext, @Body() dto: CreatePaymentDto, @IdempotencyCall() call: IdempotentCall): Promise<StoredResponse | Replayed> {
    return this.createPayment.run(auth, dto, call);
  }

  @Get()
  list(@Auth() auth: AuthContext, @Query(new DtoPipe(ListPaymentsQuery)) query: ListPaymentsQuery): Promise<components['schemas']['PaymentList']> {
    return this.payments.list(auth, query);
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<PaymentResource> {
    return toPaymentResource(await this.payments.get(auth, id));
  }

  @Patch(':id')
  @Idempotent({ body: UpdatePaymentDto })
  update(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Body() dto: UpdatePaymentDto,
    @IdempotencyKey() key: ClaimedKey,
  ): Promise<StoredResponse> {
    return this.updatePayment.run(auth, id, dto, key);
  }
}
