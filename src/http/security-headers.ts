import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** The security headers of every answer, for the few written outside Fastify's hooks (framework-errors.ts). */
    securityHeaders: Record<string, string>;
  }
}

/**
 * What @fastify/helmet sends, as configured here: pages served by this process (the console, the
 * reference at /docs) load their scripts and styles from this origin only, never inline, and are never
 * framed. `upgrade-insecure-requests` is left out: it sends a page opened on http://localhost to https.
 * `X-Content-Type-Options` is left to the API's own headers (api-headers.ts), which every answer carries.
 */
function helmetOptions(hstsMaxAgeSeconds: number): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'font-src': ["'self'"],
        'style-src': ["'self'"],
        'frame-ancestors': ["'none'"],
        'upgrade-insecure-requests': null,
      },
    },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: hstsMaxAgeSeconds > 0 ? { maxAge: hstsMaxAgeSeconds, includeSubDomains: true } : false,
    xContentTypeOptions: false,
  };
}

/**
 * The headers @fastify/helmet sets, read once at boot from a throwaway instance: the plugin builds its
 * middleware anew on every request (about 3 µs, as much as a replay's whole budget for this issue),
 * while these headers never change for a given configuration.
 */
export async function securityHeaders(hstsMaxAgeSeconds: number): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  try {
    await probe.register(helmet, helmetOptions(hstsMaxAgeSeconds));
    probe.get('/', async (_request, reply) => reply.getHeaders());
    const answer = await probe.inject('/');
    return answer.json<Record<string, string>>();
  } finally {
    await probe.close();
  }
}

/**
 * On every answer that reaches Fastify's hooks, errors included: set when the request arrives, so a
 * route that sends its own (the /docs page's CSP) replaces it.
 */
export function registerSecurityHeaders(fastify: FastifyInstance, headers: Record<string, string>): void {
  fastify.decorate('securityHeaders', headers);
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
