import { Controller, Get, Param } from '@nestjs/common';
import { Auth, type AuthContext } from '../../auth/auth-context.js';
import { PaymentsService } from '../payments.service.js';
import { type PaymentV2Resource, toPaymentV2Resource } from './payment-v2.js';

/** /v2 beside /v1: its own contract (openapi/v2.yaml) over the same services and data. */
@Controller('v2/payments')
export class PaymentsV2Controller {
  constructor(private readonly payments: PaymentsService) {}

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<PaymentV2Resource> {
    return toPaymentV2Resource(await this.payments.get(auth, id));
  }
}
