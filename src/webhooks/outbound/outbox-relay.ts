import { Injectable } from '@nestjs/common';
import { FanOutRepository } from './fan-out.repository.js';

const BATCH = 200;
/** Batches per pass at most, so a backlog of events does not keep the worker from sending. */
const MAX_BATCHES = 10;

/**
 * The outbox relay: turns events nobody has fanned out yet into deliveries. The business
 * transaction only writes its event; whatever happens to the process after that commit, the
 * event stays unpublished until a relay pass on any instance finds it, so none is lost.
 */
@Injectable()
export class OutboxRelay {
  /** The most one pass publishes: a pass that publishes this many may have left a backlog. */
  static readonly MAX_PER_PASS = BATCH * MAX_BATCHES;

  constructor(private readonly fanOut: FanOutRepository) {}

  /** Returns how many events were published. */
  async runOnce(): Promise<number> {
    let published = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const batch = await this.fanOut.fanOutBatch(BATCH);
      published += batch;
      if (batch < BATCH) break;
    }
    return published;
  }
}
