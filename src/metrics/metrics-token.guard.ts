import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config.js';
import { ProblemError } from '../errors/problem.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `Authorization: Bearer <METRICS_TOKEN>`. Both sides are hashed first, so the comparison takes the
 * same time whatever the length or the content of what was sent.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(config: AppConfig) {
    if (!config.metricsToken) throw new Error('MetricsTokenGuard needs METRICS_TOKEN');
    this.expected = digest(config.metricsToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '';
    if (!timingSafeEqual(digest(token), this.expected)) {
      throw new ProblemError('metrics-token-invalid', 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".', undefined, { 'www-authenticate': 'Bearer realm="metrics"' });
    }
    return true;
  }
}
