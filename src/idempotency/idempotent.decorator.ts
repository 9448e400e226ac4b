import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ClaimedKey } from './claimed-key.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IDEMPOTENT, type IdempotentOptions } from './idempotent-options.js';

declare module 'fastify' {
  interface FastifyRequest {
    claimedIdempotencyKey?: ClaimedKey;
  }
}

/**
 * Makes a route exactly-once per Idempotency-Key. The handler receives the validated body through
 * `@Body()` and the claimed key through `@IdempotencyKey()`, and returns the StoredResponse it wrote
 * in its final transaction.
 */
export const Idempotent = (options: IdempotentOptions) =>
  applyDecorators(SetMetadata(IDEMPOTENT, options), UseInterceptors(IdempotencyInterceptor));

export const IdempotencyKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): ClaimedKey => {
  const key = ctx.switchToHttp().getRequest<FastifyRequest>().claimedIdempotencyKey;
  if (!key) throw new Error('IdempotencyKey() used on a route without @Idempotent()');
  return key;
});
