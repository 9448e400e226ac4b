import { Module } from '@nestjs/common';
import { ProviderModule } from '../provider/provider.module.js';
import { ProviderWebhooksModule } from '../webhooks/inbound/provider-webhooks.module.js';
import { WebhookDeliveryModule } from '../webhooks/outbound/webhook-delivery.module.js';
import { ConsoleAssetsController } from './console-assets.controller.js';
import { ConsoleAuthController } from './console-auth.controller.js';
import { ConsolePaymentsController } from './console-payments.controller.js';
import { ConsolePaymentsRepository } from './console-payments.repository.js';
import { ConsolePaymentsService } from './console-payments.service.js';
import { ConsoleProvidersController } from './console-providers.controller.js';
import { ConsoleProvidersService } from './console-providers.service.js';
import { ConsoleLoginAttempts } from './console-login-attempts.js';
import { ConsoleSessions } from './console-sessions.js';
import { ConsoleWebhooksController } from './console-webhooks.controller.js';
import { ConsoleWebhooksRepository } from './console-webhooks.repository.js';
import { ConsoleWebhooksService } from './console-webhooks.service.js';
import { FormBodyParser } from './form-body.js';

/**
 * The operator console at /console: server-rendered pages behind the admin token. AppModule
 * imports it only when ADMIN_TOKEN is set, so without one /console is an unknown route.
 */
@Module({
  imports: [ProviderModule, ProviderWebhooksModule, WebhookDeliveryModule],
  controllers: [ConsoleAuthController, ConsoleAssetsController, ConsolePaymentsController, ConsoleWebhooksController, ConsoleProvidersController],
  providers: [
    FormBodyParser,
    ConsoleSessions,
    ConsoleLoginAttempts,
    ConsolePaymentsRepository,
    ConsolePaymentsService,
    ConsoleWebhooksRepository,
    ConsoleWebhooksService,
    ConsoleProvidersService,
  ],
})
export class ConsoleModule {}
