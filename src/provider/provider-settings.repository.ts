import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface ProviderSetting {
  provider: string;
  enabled: boolean;
  reason: string | null;
  updated_at: Date;
}

/** The kill switch per provider; a missing row means enabled. */
@Injectable()
export class ProviderSettingsRepository {
  constructor(private readonly db: DataSource) {}

  async isEnabled(provider: string): Promise<boolean> {
    const rows: { enabled: boolean }[] = await this.db.query(`SELECT enabled FROM provider_settings WHERE provider = $1`, [provider]);
    return rows[0]?.enabled ?? true;
  }

  async setEnabled(provider: string, enabled: boolean, reason: string | null): Promise<void> {
    await this.db.query(
      `INSERT INTO provider_settings (provider, enabled, reason) VALUES ($1, $2, $3)
       ON CONFLICT (provider) DO UPDATE SET enabled = $2, reason = $3, updated_at = now()`,
      [provider, enabled, reason],
    );
  }

  list(): Promise<ProviderSetting[]> {
    return this.db.query(`SELECT provider, enabled, reason, updated_at FROM provider_settings ORDER BY provider`);
  }
}
