import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { registerCors } from './cors.js';
import { registerRateLimit } from './rate-limit.js';
import { registerSecurityHeaders, securityHeaders } from './security-headers.js';

/**
 * Security headers, CORS and the rate limit, before the app's own hooks and routes: the headers and
 * CORS are set first on every answer, errors included, and the rate limit hooks each /v1 and /v2 route
 * as Nest registers it.
 */
export async function registerSecurity(fastify: FastifyInstance, config: AppConfig): Promise<void> {
  registerSecurityHeaders(fastify, await securityHeaders(config.hstsMaxAgeSeconds));
  await registerCors(fastify, config.corsOrigins);
  await registerRateLimit(fastify, config);
}
