import { Injectable } from '@nestjs/common';
import { newId } from '../common/ids.js';
import { AppConfig } from '../config/app-config.js';
import { ChangeNotifications } from '../database/change-notifications.js';
import { NotifiedCache } from '../database/notified-cache.js';
import { generateApiKey, hashApiKey, keyHint } from './api-key.js';
import type { AuthContext } from './auth-context.js';
import { MerchantsRepository } from './merchants.repository.js';

export interface CreatedMerchant {
  merchant_id: string;
  test_key: string;
  live_key: string;
}

@Injectable()
export class MerchantsService {
  /** key hash → who is calling, for the keys seen lately. */
  private readonly keys: NotifiedCache<AuthContext>;

  constructor(
    private readonly merchants: MerchantsRepository,
    changes: ChangeNotifications,
    config: AppConfig,
  ) {
    this.keys = new NotifiedCache(changes, 'api_keys', config.apiKeyCacheEntries);
  }

  /** Creates a merchant with one test and one live key; the keys are returned once and stored only as hashes. */
  async create(name: string): Promise<CreatedMerchant> {
    const merchantId = newId('mer');
    const testKey = generateApiKey('test');
    const liveKey = generateApiKey('live');
    await this.merchants.insertWithKeys(
      { id: merchantId, name },
      [testKey, liveKey].map((key) => ({
        id: newId('key'),
        mode: key.startsWith('sk_test_') ? ('test' as const) : ('live' as const),
        keyHash: hashApiKey(key),
        keyHint: keyHint(key),
      })),
    );
    return { merchant_id: merchantId, test_key: testKey, live_key: liveKey };
  }

  /**
   * Every authenticated request asks this, so a known key is answered from memory; a revocation
   * reaches every instance within a second. An unknown key is asked of Postgres every time: a key
   * just created works at once, and random keys cannot fill the memory.
   */
  authenticate(keyHash: string): Promise<AuthContext | undefined> {
    return this.keys.get(keyHash, () => this.merchants.findByKeyHash(keyHash));
  }

  findIdByName(name: string): Promise<string | undefined> {
    return this.merchants.findIdByName(name);
  }
}
