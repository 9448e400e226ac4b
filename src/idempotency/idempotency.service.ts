import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import { AppConfig } from '../config/app-config.js';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody, Refusal } from '../errors/problem.js';
import { ClaimedKey, FINISHED, type IdempotentRequest } from './claimed-key.js';
import { differingFields, fingerprint } from './fingerprint.js';
import { IdempotencyRepository, type IdempotencyKeyRow } from './idempotency.repository.js';
import type { StoredResponse } from './stored-response.js';

export type ClaimOutcome = { kind: 'replay'; response: StoredResponse } | { kind: 'proceed'; key: ClaimedKey };

/** Thrown by a phase whose lease was taken over by another process: that process now owns the key. */
export class LeaseLostError extends ProblemError {
  constructor() {
    super('idempotency-key-in-use', 'Another request took this Idempotency-Key over; retry to get its answer.', undefined, {
      'retry-after': '1',
    });
  }
}

/** 422: the key was first used with another request; `fields` are the ones that differ. */
export class KeyReusedError extends ProblemError {
  constructor(what: string, fields: string[]) {
    super(
      'idempotency-key-reused',
      `${what}${fields.length ? ` (differs in: ${fields.join(', ')})` : ''}. Use a new key for a new request.`,
      fields.map((field) => ({ field, message: 'differs from the request first sent with this Idempotency-Key' })),
    );
  }
}

export function fingerprintOf(request: IdempotentRequest): string {
  return fingerprint({ method: request.method, path: request.path, body: request.body });
}

function storedProblem(error: ProblemError, traceId: string, path: string): StoredResponse {
  return {
    status: error.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...error.headers },
    body: JSON.stringify(problemBody(error.code, error.detail, traceId, path, error.fieldErrors)),
  };
}

@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);

  constructor(
    private readonly db: DataSource,
    private readonly keys: IdempotencyRepository,
    private readonly config: AppConfig,
  ) {}

  /**
   * Phase 1. Claims the key for a new request, or decides what an earlier request with the same key
   * means for this one: replay its answer, refuse a different body (422), refuse while it runs (409),
   * or take over the lease of an owner that died and resume from its recovery point.
   */
  async claim(auth: AuthContext, key: string, request: IdempotentRequest): Promise<ClaimOutcome> {
    const print = fingerprintOf(request);
    // Most retries find a finished key: answered from one plain read, with no lock and no commit.
    const finished = await this.keys.findFinished(auth, key);
    if (finished) return this.answerExisting(finished, request, print);

    const owner = randomUUID();
    return this.db.transaction(async (m) => {
      const inserted = await this.keys.insertClaimed(m, auth, key, request, print, owner);
      if (inserted) return { kind: 'proceed', key: this.toClaimed(inserted, owner) };

      const existing = await this.keys.lockByKey(m, auth, key, this.config.idempotencyLeaseMs);
      if (!existing) throw new Error('idempotency key vanished while locked');
      if (existing.fingerprint !== print || existing.recovery_point === FINISHED) return this.answerExisting(existing, request, print);
      if (existing.lease_fresh) {
        throw new ProblemError('idempotency-key-in-use', 'A request with this Idempotency-Key is still in progress.', undefined, {
          'retry-after': '1',
        });
      }
      await this.keys.takeLease(m, existing.id, owner);
      return { kind: 'proceed', key: this.toClaimed(existing, owner) };
    });
  }

  /** A different request with the key is refused, whatever its state; the same one gets the stored answer. */
  private answerExisting(existing: IdempotencyKeyRow, request: IdempotentRequest, print: string): ClaimOutcome {
    if (existing.fingerprint !== print) {
      const before = { method: existing.method, path: existing.path, ...existing.request_params };
      const now = { method: request.method, path: request.path, ...request.body };
      throw new KeyReusedError('This Idempotency-Key was first used with a different request', differingFields(before, now));
    }
    if (existing.response_status === null || existing.response_body === null) throw new Error(`key ${existing.id} is finished without a response`);
    return {
      kind: 'replay',
      response: { status: existing.response_status, headers: existing.response_headers ?? {}, body: existing.response_body },
    };
  }

  /** One phase: a transaction that first checks the lease is still ours and holds the key's row lock. */
  phase<T>(key: ClaimedKey, work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(async (m) => {
      if (!(await this.keys.lockOwned(m, key.id, key.owner))) throw new LeaseLostError();
      return work(m);
    });
  }

  advance(m: EntityManager, key: ClaimedKey, recoveryPoint: string, resourceId: string | null = null): Promise<void> {
    return this.keys.setRecoveryPoint(m, key.id, recoveryPoint, resourceId);
  }

  async finish(m: EntityManager, key: ClaimedKey, response: StoredResponse): Promise<StoredResponse> {
    await this.keys.finish(m, key.id, response);
    return response;
  }

  /**
   * Removes the claim, and in the same transaction what `undo` removes, while this process still
   * holds the lease: what the client is told was not done then leaves nothing a background task
   * could carry out, and a retry with the key starts afresh. A no-op once the key is gone or lost.
   */
  async abandon(key: ClaimedKey, undo?: (m: EntityManager) => Promise<void>): Promise<void> {
    await this.db.transaction(async (m) => {
      if (!(await this.keys.lockOwned(m, key.id, key.owner))) return;
      await undo?.(m);
      await this.keys.delete(m, key.id);
    });
  }

  /**
   * Runs an operation on a claimed key. A Refusal (nothing was done) removes the claim. Another
   * client error raised after the operation started is the request's answer and is stored like a
   * success. Any other failure gives the lease back and keeps the recovery point: a key still at
   * `started` is then released by the completer, a later one resumed once the provider was asked.
   */
  async execute<T>(key: ClaimedKey, traceId: string, run: () => Promise<T>): Promise<T | StoredResponse> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof Refusal) {
        // If even this cannot be written (the database went away), the key stays at a point the completer releases.
        await this.abandon(key).catch((e: unknown) => this.logger.error(`could not remove the claim of refused key ${key.id}: ${String(e)}`));
        throw error;
      }
      if (error instanceof ProblemError && !(error instanceof LeaseLostError) && error.status < 500) {
        const response = storedProblem(error, traceId, key.request.path);
        try {
          return await this.phase(key, (m) => this.finish(m, key, response));
        } catch (storeError) {
          await this.release(key);
          throw storeError;
        }
      }
      if (!(error instanceof LeaseLostError)) await this.release(key);
      throw error;
    }
  }

  private release(key: ClaimedKey): Promise<void> {
    return this.keys.release(key.id, key.owner).catch((e: unknown) => this.logger.error(`could not release key ${key.id}: ${String(e)}`));
  }

  /** Deletes keys stranded at `started` (see IdempotencyRepository.deleteStaleStarted); returns how many. */
  releaseStaleStarted(limit: number): Promise<number> {
    return this.keys.deleteStaleStarted(this.config.idempotencyLeaseMs, limit);
  }

  async leaseStale(): Promise<ClaimedKey | undefined> {
    const owner = randomUUID();
    const row = await this.keys.leaseStale(this.config.idempotencyLeaseMs, owner);
    return row && this.toClaimed(row, owner);
  }

  deleteExpiredBatch(): Promise<number> {
    return this.keys.deleteExpiredBatch(this.config.idempotencyTtlHours, this.config.sweeperBatchSize);
  }

  private toClaimed(row: IdempotencyKeyRow, owner: string): ClaimedKey {
    return new ClaimedKey(
      row.id,
      owner,
      { merchantId: row.merchant_id, mode: row.mode },
      row.key,
      row.fingerprint,
      { method: row.method, route: row.route, path: row.path, pathParams: row.path_params, body: row.request_params },
      row.recovery_point,
      row.resource_id,
    );
  }
}
