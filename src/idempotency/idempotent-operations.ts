import { Injectable } from '@nestjs/common';
import type { ClaimedKey } from './claimed-key.js';
import type { StoredResponse } from './stored-response.js';

/**
 * Finishes a key stranded past `started` with no client around: asks the provider how its call
 * ended and stores that outcome, or releases the key (and what it wrote) when the call never
 * executed. Undefined when it released the key.
 */
export type ResumeOperation = (key: ClaimedKey) => Promise<StoredResponse | undefined>;

/**
 * What the completer runs for each route whose operation calls the provider, registered under its
 * route template. A route that never leaves `started` unfinished (one phase) registers nothing.
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
