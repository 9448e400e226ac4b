import { Module } from '@nestjs/common';
import { ChangeNotificationsModule } from '../database/change-notifications.module.js';
import { HttpPaymentProviders } from './http-payment-provider.js';
import { KillSwitch } from './kill-switch.js';
import { PaymentProviders } from './payment-provider.js';
import { ProviderAttemptsRepository } from './provider-attempts.repository.js';
import { ProviderGateway } from './provider-gateway.js';
import { ProviderSettingsRepository } from './provider-settings.repository.js';

@Module({
  imports: [ChangeNotificationsModule],
  providers: [{ provide: PaymentProviders, useClass: HttpPaymentProviders }, ProviderAttemptsRepository, ProviderSettingsRepository, KillSwitch, ProviderGateway],
  exports: [ProviderGateway, ProviderAttemptsRepository, KillSwitch],
})
export class ProviderModule {}
