import { Injectable } from '@nestjs/common';
import { newId } from '../common/ids.js';
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
  constructor(private readonly merchants: MerchantsRepository) {}

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

  authenticate(key: string): Promise<AuthContext | undefined> {
    return this.merchants.findByKeyHash(hashApiKey(key));
  }

  findIdByName(name: string): Promise<string | undefined> {
    return this.merchants.findIdByName(name);
  }
}
