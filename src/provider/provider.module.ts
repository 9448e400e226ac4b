import { Module } from '@nestjs/common';
import { HttpPaymentProvider } from './http-payment-provider.js';
import { PaymentProvider } from './payment-provider.js';
import { ProviderAttemptsRepository } from './provider-attempts.repository.js';
import { ProviderGateway } from './provider-gateway.js';
import { ProviderSettingsRepository } from './provider-settings.repository.js';

@Module({
  providers: [{ provide: PaymentProvider, useClass: HttpPaymentProvider }, ProviderAttemptsRepository, ProviderSettingsRepository, ProviderGateway],
  exports: [ProviderGateway],
})
export class ProviderModule {}
