import { Module } from '@nestjs/common';
import { HttpPaymentProviders } from './http-payment-provider.js';
import { PaymentProviders } from './payment-provider.js';
import { ProviderAttemptsRepository } from './provider-attempts.repository.js';
import { ProviderGateway } from './provider-gateway.js';
import { ProviderSettingsRepository } from './provider-settings.repository.js';

@Module({
  providers: [{ provide: PaymentProviders, useClass: HttpPaymentProviders }, ProviderAttemptsRepository, ProviderSettingsRepository, ProviderGateway],
  exports: [ProviderGateway, ProviderAttemptsRepository],
})
export class ProviderModule {}
