import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Mode } from '../../auth/auth-context.js';
import { isIdOf } from '../../common/ids.js';
import type { RefundRow } from '../../refunds/refund.js';

/** What an event is checked against before it may move a payment. */
export interface ChargeTarget {
  id: string;
  mode: Mode;
  provider_key: string;
}

/** The payment or refund a provider event names, found by our id alone: the provider knows no merchant. */
@Injectable()
export class EventTargetsRepository {
  constructor(private readonly db: DataSource) {}

  async findPayment(id: string): Promise<ChargeTarget | undefined> {
    if (!isIdOf('pay', id)) return undefined;
    const rows: ChargeTarget[] = await this.db.query(`SELECT id, mode, provider_key FROM payments WHERE id = $1`, [id]);
    return rows[0];
  }

  async findRefund(m: EntityManager, id: string): Promise<RefundRow | undefined> {
    if (!isIdOf('re', id)) return undefined;
    const rows: RefundRow[] = await m.query(`SELECT * FROM refunds WHERE id = $1`, [id]);
    return rows[0];
  }
}
