import { Injectable } from '@nestjs/common';
import type { ClaimedKey } from './claimed-key.js';
import type { StoredResponse } from './stored-response.js';

export type ResumeOperation = (key: ClaimedKey) => Promise<StoredResponse>;

/**
 * What the completer runs to finish a key with no client around: each idempotent route registers
 * the same service method its controller calls, under its route template.
 */
@Injectable()
export class IdempotentOperations {
  private readonly byRoute = new Map<string, ResumeOperation>();

  register(route: string, operation: ResumeOperation): void {
    this.byRoute.set(route, operation);
  }

  get(route: string): ResumeOperation | undefined {
    return this.byRoute.get(route);
  }
}
