import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export type Mode = 'test' | 'live';

/** Who is calling: the API key decides the merchant and the mode, and test and live data never mix. */
export interface AuthContext {
  merchantId: string;
  mode: Mode;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

export const Auth = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = ctx.switchToHttp().getRequest<FastifyRequest>().auth;
  if (!auth) throw new Error('Auth() used on a route the API key guard did not run on');
  return auth;
});
