import { Module } from '@nestjs/common';
import { HttpPaymentProvider } from './http-payment-provider.js';
import { PaymentProvider } from './payment-provider.js';

@Module({
  providers: [{ provide: PaymentProvider, useClass: HttpPaymentProvider }],
  exports: [PaymentProvider],
})
export class ProviderModule {}
