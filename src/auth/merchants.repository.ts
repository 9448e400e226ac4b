import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuthContext, Mode } from './auth-context.js';

@Injectable()
export class MerchantsRepository {
  constructor(private readonly db: DataSource) {}

  async findByKeyHash(keyHash: string): Promise<AuthContext | undefined> {
    const rows: { merchant_id: string; mode: Mode }[] = await this.db.query(
      `SELECT merchant_id, mode FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [keyHash],
    );
    return rows[0] ? { merchantId: rows[0].merchant_id, mode: rows[0].mode } : undefined;
  }

  async insertWithKeys(
    merchant: { id: string; name: string },
    keys: { id: string; mode: Mode; keyHash: string; keyHint: string }[],
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.query(`INSERT INTO merchants (id, name) VALUES ($1, $2)`, [merchant.id, merchant.name]);
      for (const key of keys) {
        await m.query(
          `INSERT INTO api_keys (id, merchant_id, mode, key_hash, key_hint) VALUES ($1, $2, $3, $4, $5)`,
          [key.id, merchant.id, key.mode, key.keyHash, key.keyHint],
        );
      }
    });
  }

  async findIdByName(name: string): Promise<string | undefined> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM merchants WHERE name = $1 ORDER BY id LIMIT 1`, [name]);
    return rows[0]?.id;
  }
}
