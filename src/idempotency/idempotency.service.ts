import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context.js';
import { AppConfig } from '../config/app-config.js';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody, Refusal } from '../errors/problem.js';
import { ClaimedKey, FINISHED, IdempotentCall, type IdempotentRequest } from './claimed-key.js';
import { differingFields, fingerprint } from './fingerprint.js';
import { IdempotencyRepository, type IdempotencyKeyRow } from './idempotency.repository.js';
import { ReplayCache } from './replay-cache.js';
import type { StoredResponse } from './stored-response.js';

export type ClaimOutcome = { kind: 'replay'; response: StoredResponse } | { kind: 'proceed'; key: ClaimedKey };

/** An earlier request's answer, sent again (`Idempotent-Replayed: true`). */
export class Replayed {
  constructor(readonly response: StoredResponse) {}
}

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

/** How often leases given back while the database was away are written again, until it answers. */
const RELEASE_RETRY_MS = 100;

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
export class IdempotencyService implements OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyService.name);
  /**
   * Leases this process gave back while the database could not be written (owner → key id): their
   * requests have ended, but their rows still say "in use" for up to a lease. Written again until the
   * database answers, and meanwhile a retry reaching this process takes its key over at once.
   */
  private readonly unreleased = new Map<string, string>();
  private releaseRetry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: DataSource,
    private readonly keys: IdempotencyRepository,
    private readonly replays: ReplayCache,
    private readonly config: AppConfig,
  ) {}

  callOf(auth: AuthContext, key: string, request: IdempotentRequest): IdempotentCall {
    return new IdempotentCall(auth, key, request, fingerprintOf(request));
  }

  /**
   * The answer of a finished key this process has seen, with no query, if this is the request it
   * answers. A different request with the key goes on to its checks, and then to the 422 of the claim.
   */
  cachedAnswer(call: IdempotentCall): StoredResponse | undefined {
    const finished = this.replays.get(call.auth, call.key);
    return finished?.fingerprint === call.fingerprint ? finished.response : undefined;
  }

  /**
   * Phase 1. Claims the key for a new request, or decides what an earlier request with the same key
   * means for this one: replay its answer, refuse a different body (422), refuse while it runs (409),
   * or take over the lease of an owner that died and resume from its recovery point.
   */
  async claim(call: IdempotentCall): Promise<ClaimOutcome> {
    const outcome = await this.claimKey(call, true);
    // Removed between two reads (its request was refused): a retry starts afresh.
    if (!outcome) throw keyInUse();
    return outcome;
  }

  /** The same, for an operation that stores its claim itself: undefined when the key does not exist. */
  claimExisting(call: IdempotentCall): Promise<ClaimOutcome | undefined> {
    return this.claimKey(call, false);
  }

  private async claimKey(call: IdempotentCall, insert: boolean): Promise<ClaimOutcome | undefined> {
    const { auth, key, request } = call;
    // Most retries find a finished key: answered from one plain read, with no lock and no commit.
    const found = await this.keys.find(auth, key);
    if (found && (found.recovery_point === FINISHED || found.fingerprint !== call.fingerprint)) return this.answerExisting(found, call);
    if (!found) {
      if (!insert) return undefined;
      // A new key: one statement, committed on its own.
      const inserted = await this.keys.insertClaimed(this.db.manager, auth, key, request, call.fingerprint, call.owner);
      if (inserted) return this.proceed(call, inserted);
    }
    // The key is unfinished (or was stored just now by another request): decided under its row lock.
    return this.db.transaction(async (m) => {
      const existing = await this.keys.lockByKey(m, auth, key, this.config.idempotencyLeaseMs);
      if (!existing) return undefined;
      if (existing.fingerprint !== call.fingerprint || existing.recovery_point === FINISHED) return this.answerExisting(existing, call);
      if (existing.lease_fresh && !this.unreleased.has(existing.locked_by!)) throw keyInUse();
      await this.keys.takeLease(m, existing.id, call.owner);
      return this.proceed(call, existing);
    });
  }

  /** The key an operation stored in its own first statement, leased to this call. */
  claimed(call: IdempotentCall, id: string, recoveryPoint: string, resourceId: string, createdAt: Date): ClaimedKey {
    call.claimed = new ClaimedKey(id, call.owner, call.auth, call.key, call.fingerprint, call.request, recoveryPoint, resourceId, createdAt);
    return call.claimed;
  }

  private proceed(call: IdempotentCall, row: IdempotencyKeyRow): ClaimOutcome {
    call.claimed = this.toClaimed(row, call.owner);
    return { kind: 'proceed', key: call.claimed };
  }

  /** A different request with the key is refused, whatever its state; the same one gets the stored answer. */
  private answerExisting(existing: IdempotencyKeyRow, call: IdempotentCall): ClaimOutcome {
    refuseDifferent(existing, call);
    if (existing.response_status === null || existing.response_body === null) throw new Error(`key ${existing.id} is finished without a response`);
    const response = { status: existing.response_status, headers: existing.response_headers ?? {}, body: existing.response_body };
    this.replays.remember(call.auth, call.key, existing.created_at, { fingerprint: existing.fingerprint, response });
    return { kind: 'replay', response };
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
    key.abandoned = true;
  }

  /**
   * Runs an operation on a key, claimed before or by the operation (`claimed` tells which key, if
   * any, it holds). A Refusal (nothing was done) removes the claim. Another client error raised
   * after the claim is the request's answer and is stored like a success. Any other failure gives
   * the lease back and keeps the recovery point: a key still at `started` is then released by the
   * completer, a later one resumed once the provider was asked. A finished answer is remembered for
   * the replays that follow.
   */
  async execute<T extends StoredResponse | Replayed | undefined>(claimed: () => ClaimedKey | undefined, traceId: string, run: () => Promise<T>): Promise<T | StoredResponse> {
    let result: T | StoredResponse;
    try {
      result = await run();
    } catch (error) {
      const key = claimed();
      if (!key || key.abandoned) throw error;
      if (error instanceof Refusal) {
        // If even this cannot be written (the database went away), the key stays at a point the completer releases.
        await this.abandon(key).catch((e: unknown) => this.logger.error(`could not remove the claim of refused key ${key.id}: ${String(e)}`));
        throw error;
      }
      if (!(error instanceof ProblemError) || error instanceof LeaseLostError || error.status >= 500) {
        if (!(error instanceof LeaseLostError)) await this.release(key);
        throw error;
      }
      const response = storedProblem(error, traceId, key.request.path);
      try {
        result = await this.phase(key, (m) => this.finish(m, key, response));
      } catch (storeError) {
        await this.release(key);
        throw storeError;
      }
    }
    const key = claimed();
    if (key && result && !(result instanceof Replayed)) this.replays.remember(key.auth, key.key, key.createdAt, { fingerprint: key.fingerprint, response: result });
    return result;
  }

  private async release(key: ClaimedKey): Promise<void> {
    try {
      await this.keys.release(key.id, key.owner);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) {
        this.logger.error(`could not release key ${key.id}: ${String(error)}`);
        return;
      }
      this.logger.warn(`could not release key ${key.id} yet, trying again until the database answers: ${String(error)}`);
      this.unreleased.set(key.owner, key.id);
      this.retryReleases();
    }
  }

  /** In the order they failed; the first that fails again waits for the next round. A key taken over since stays with its new owner. */
  private retryReleases(): void {
    if (this.closed) return;
    this.releaseRetry ??= setTimeout(async () => {
      for (const [owner, id] of this.unreleased) {
        try {
          await this.keys.release(id, owner);
        } catch {
          break;
        }
        this.unreleased.delete(owner);
      }
      this.releaseRetry = undefined;
      if (this.unreleased.size > 0) this.retryReleases();
    }, RELEASE_RETRY_MS);
  }

  /** What is still unwritten is left to the lease: its keys are free once it runs out, as after a crash. */
  onApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.releaseRetry);
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
      row.created_at,
      row.traceparent,
    );
  }
}

/** 409 while the key's first request still runs (or its owner's lease has not run out). */
export function keyInUse(): ProblemError {
  return new ProblemError('idempotency-key-in-use', 'A request with this Idempotency-Key is still in progress.', undefined, { 'retry-after': '1' });
}

/** 422 when the call is not the request first sent with its key. */
function refuseDifferent(first: IdempotencyKeyRow, call: IdempotentCall): void {
  if (first.fingerprint === call.fingerprint) return;
  const before = { method: first.method, path: first.path, ...first.request_params };
  const now = { method: call.request.method, path: call.request.path, ...call.request.body };
  throw new KeyReusedError('This Idempotency-Key was first used with a different request', differingFields(before, now));
}
