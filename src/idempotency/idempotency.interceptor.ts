import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catchError, from, lastValueFrom, map, type Observable, of, throwError } from 'rxjs';
import { CrashPoints } from '../faults/crash-points.js';
import { ProblemError } from '../errors/problem.js';
import { inputProblems } from '../http/input-guard.js';
import { refuseFields, safeObject, validateDto } from '../http/validate-dto.js';
import type { IdempotentRequest } from './claimed-key.js';
import { outcomeOfError } from './idempotency-outcome.js';
import { IDEMPOTENT, type IdempotentOptions } from './idempotent-options.js';
import { parseIdempotencyKey } from './idempotency-key-header.js';
import { IdempotencyService, Replayed } from './idempotency.service.js';
import type { StoredResponse } from './stored-response.js';

/**
 * The cached-response interceptor: answers a request this process saw finish from memory,
 * validates, claims the key (phase 1) unless the operation does, replays a stored answer or runs the
 * handler, and sends every answer from its stored bytes so a replay is identical.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly idempotency: IdempotencyService,
    private readonly crashPoints: CrashPoints,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler<StoredResponse | Replayed>): Promise<Observable<string>> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    try {
      return (await this.run(context, next)).pipe(catchError((error: unknown) => this.failed(request, error)));
    } catch (error) {
      return this.failed(request, error);
    }
  }

  private failed(request: FastifyRequest, error: unknown): Observable<never> {
    const claimed = request.idempotentCall?.claimed;
    request.idempotencyOutcome = outcomeOfError(error, claimed !== undefined && !claimed.abandoned);
    return throwError(() => error);
  }

  private async run(context: ExecutionContext, next: CallHandler<StoredResponse | Replayed>): Promise<Observable<string>> {
    const options = this.reflector.get<IdempotentOptions>(IDEMPOTENT, context.getHandler());
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const auth = request.auth;
    if (!auth) throw new Error('@Idempotent() route reached without authentication');

    const key = parseIdempotencyKey(request.raw.headersDistinct['idempotency-key']);
    // A route that takes no fields, or only optional ones, may be sent no body at all; it then means `{}`, and fingerprints as such.
    const body = request.body === undefined && (!options.body || options.bodyOptional) ? {} : safeObject(request.body);
    // Refused before the claim, which stores the path parameters: no resource has such an id.
    if (inputProblems(request.params).length > 0) throw new ProblemError('resource-not-found', 'No resource has this id.');
    const idempotentRequest: IdempotentRequest = {
      method: request.method,
      route: `${request.method} ${request.routeOptions.url}`,
      path: request.url.split('?')[0],
      pathParams: request.params as Record<string, string>,
      body,
    };
    const call = this.idempotency.callOf(auth, key, idempotentRequest);
    // The very request an answer is stored for, so one its DTO accepted: replayed without checking it again.
    const cached = this.idempotency.cachedAnswer(call);
    if (cached) return of(send(request, reply, cached, true));
    const dto = options.body ? validateDto(options.body, body) : refuseFields(body);

    if (!options.claimedByOperation) {
      const outcome = await this.idempotency.claim(call);
      if (outcome.kind === 'replay') return of(send(request, reply, outcome.response, true));
      this.crashPoints.reached('claimed');
    }
    request.body = dto;
    request.idempotentCall = call;
    return from(this.idempotency.execute(() => call.claimed, request.id, () => lastValueFrom(next.handle()))).pipe(
      map((answer) => (answer instanceof Replayed ? send(request, reply, answer.response, true) : send(request, reply, answer, false))),
    );
  }
}

/** Status and headers on the reply, the stored body as the bytes to send: no re-serialization. */
function send(request: FastifyRequest, reply: FastifyReply, stored: StoredResponse, replayed: boolean): string {
  request.idempotencyOutcome = replayed ? 'replayed' : 'claimed';
  reply.status(stored.status).headers(stored.headers);
  if (replayed) reply.header('idempotent-replayed', 'true');
  return stored.body;
}
