import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ProblemError } from '../errors/problem.js';
import { bearerKeyHashOf, bearerKeyOf, modeOfKey } from './api-key.js';
import { MerchantsService } from './merchants.service.js';
import { PUBLIC_ROUTE } from './public.decorator.js';

/** `Authorization: Bearer sk_test_…|sk_live_…` → the merchant and mode, before anything else runs. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly merchants: MerchantsService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // Node keeps only the first of two Authorization headers; which key was meant is not ours to guess.
    if ((request.raw.headersDistinct.authorization?.length ?? 0) > 1) {
      const message = 'Send exactly one Authorization header.';
      throw new ProblemError('validation-failed', message, [{ field: 'Authorization', message }]);
    }
    const header = request.headers.authorization;
    if (!header) {
      throw new ProblemError('api-key-missing', 'Send your secret key as "Authorization: Bearer sk_test_…".');
    }
    const key = bearerKeyOf(header);
    const auth = key && modeOfKey(key) ? await this.merchants.authenticate(bearerKeyHashOf(request)!) : undefined;
    if (!auth) throw new ProblemError('api-key-invalid', 'The API key is unknown or revoked.');
    request.auth = auth;
    return true;
  }
}
