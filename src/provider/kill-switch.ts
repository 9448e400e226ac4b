import { Injectable } from '@nestjs/common';
import { ChangeNotifications } from '../database/change-notifications.js';
import { NotifiedCache } from '../database/notified-cache.js';
import { type ProviderSetting, ProviderSettingsRepository } from './provider-settings.repository.js';

/**
 * The kill switch as every new charge and refund asks it: from memory, so a flip (by the CLI, the
 * console or by hand) reaches every instance within a second without a read per payment.
 */
@Injectable()
export class KillSwitch {
  private readonly enabled: NotifiedCache<boolean>;

  constructor(
    private readonly settings: ProviderSettingsRepository,
    changes: ChangeNotifications,
  ) {
    // Asked only about the lanes' providers: one per mode.
    this.enabled = new NotifiedCache(changes, 'provider_settings', 2);
  }

  isEnabled(provider: string): Promise<boolean> {
    return this.enabled.get(provider, () => this.settings.isEnabled(provider));
  }

  /** Every instance, this one included, learns of it from the change notification. */
  set(provider: string, enabled: boolean, reason: string | null): Promise<void> {
    return this.settings.setEnabled(provider, enabled, reason);
  }

  /** The providers that have a setting, as stored (a missing row means enabled). */
  list(): Promise<ProviderSetting[]> {
    return this.settings.list();
  }
}
