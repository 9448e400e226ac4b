import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { from, lastValueFrom, map, type Observable, of } from 'rxjs';
import { CrashPoints } from '../faults/crash-points.js';
import { ProblemError } from '../errors/problem.js';
import { inputProblems } from '../http/input-guard.js';
import { validateDto } from '../http/validate-dto.js';
import type { IdempotentRequest } from './claimed-key.js';
import { IDEMPOTENT, type IdempotentOptions } from './idempotent-options.js';
import { parseIdempotencyKey } from './idempotency-key-header.js';
import { IdempotencyService } from './idempotency.service.js';
import { type StoredResponse, toWebResponse } from './stored-response.js';

/**
 * The cached-response interceptor: validates, claims the key (phase 1), replays a stored answer or
 * runs the handler, and sends every answer from its stored bytes so a replay is identical.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly idempotency: IdempotencyService,
    private readonly crashPoints: CrashPoints,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler<StoredResponse>): Promise<Observable<Response>> {
    const options = this.reflector.get<IdempotentOptions>(IDEMPOTENT, context.getHandler());
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = request.auth;
    if (!auth) throw new Error('@Idempotent() route reached without authentication');

    const key = parseIdempotencyKey(request.raw.headersDistinct['idempotency-key']);
    const dto = validateDto(options.body, request.body);
    // Refused before the claim, which stores the path parameters: no resource has such an id.
    if (inputProblems(request.params).length > 0) throw new ProblemError('resource-not-found', 'No resource has this id.');
    const idempotentRequest: IdempotentRequest = {
      method: request.method,
      route: `${request.method} ${request.routeOptions.url}`,
      path: request.url.split('?')[0],
      pathParams: request.params as Record<string, string>,
      body: request.body as Record<string, unknown>,
    };

    const outcome = await this.idempotency.claim(auth, key, idempotentRequest);
    if (outcome.kind === 'replay') return of(toWebResponse(outcome.response, true));
    this.crashPoints.reached('claimed');

    request.body = dto;
    request.claimedIdempotencyKey = outcome.key;
    return from(this.idempotency.execute(outcome.key, request.id, () => lastValueFrom(next.handle()))).pipe(
      map((stored) => toWebResponse(stored, false)),
    );
  }
}
