import { Injectable } from '@nestjs/common';
import { KillSwitch } from '../provider/kill-switch.js';
import { ProviderGateway } from '../provider/provider-gateway.js';
import type { LaneState } from '../provider/provider-lane.js';
import type { ProviderSetting } from '../provider/provider-settings.repository.js';

/** A provider the kill switch can name: one of this instance's lanes, or one with a stored setting. */
export interface ProviderControl {
  provider: string;
  /** This instance's lanes through the provider (none for a provider only the settings name). */
  lanes: LaneState[];
  enabled: boolean;
  reason: string | null;
  updatedAt: Date | null;
}

@Injectable()
export class ConsoleProvidersService {
  constructor(
    private readonly gateway: ProviderGateway,
    private readonly killSwitch: KillSwitch,
  ) {}

  /** The breakers are this instance's (each instance keeps its own); the kill switch is shared by all. */
  async list(): Promise<ProviderControl[]> {
    const lanes = this.gateway.laneStates();
    const settings = new Map<string, ProviderSetting>((await this.killSwitch.list()).map((s) => [s.provider, s]));
    const names = [...new Set([...lanes.map((l) => l.provider), ...settings.keys()])];
    return names.map((provider) => {
      const setting = settings.get(provider);
      return {
        provider,
        lanes: lanes.filter((l) => l.provider === provider),
        enabled: setting?.enabled ?? true,
        reason: setting?.reason ?? null,
        updatedAt: setting?.updated_at ?? null,
      };
    });
  }

  /** False for a provider the console does not show: a typo must not become a setting nobody reads. */
  async setEnabled(provider: string, enabled: boolean, reason: string | null): Promise<boolean> {
    if (!(await this.list()).some((p) => p.provider === provider)) return false;
    await this.killSwitch.set(provider, enabled, reason);
    return true;
  }
}
