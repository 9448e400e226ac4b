import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ClaimedKey, IdempotentCall } from './claimed-key.js';
import type { IdempotencyOutcome } from './idempotency-outcome.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IDEMPOTENT, type IdempotentOptions } from './idempotent-options.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotentCall?: IdempotentCall;
    /** Set on every request of an @Idempotent() route once the key's part in it is known. */
    idempotencyOutcome?: IdempotencyOutcome;
  }
}

/**
 * Makes a route exactly-once per Idempotency-Key. The handler receives the validated body through
 * `@Body()` and the claimed key through `@IdempotencyKey()` (or, with `claimedByOperation`, the
 * call through `@IdempotencyCall()`), and returns the StoredResponse it wrote in its final transaction.
 */
export const Idempotent = (options: IdempotentOptions) =>
  applyDecorators(SetMetadata(IDEMPOTENT, options), UseInterceptors(IdempotencyInterceptor));

function callOf(ctx: ExecutionContext): IdempotentCall {
  const call = ctx.switchToHttp().getRequest<FastifyRequest>().idempotentCall;
  if (!call) throw new Error('an idempotency parameter used on a route without @Idempotent()');
  return call;
}

export const IdempotencyKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): ClaimedKey => {
  const key = callOf(ctx).claimed;
  if (!key) throw new Error('IdempotencyKey() used on a route whose operation claims the key itself');
  return key;
});

export const IdempotencyCall = createParamDecorator((_data: unknown, ctx: ExecutionContext): IdempotentCall => callOf(ctx));
