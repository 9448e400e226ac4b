import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { isApiUrl } from './api-headers.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The security headers of an answer to this URL, for the few written outside Fastify's hooks (framework-errors.ts). */
    securityHeadersFor(url: string): Record<string, string>;
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
 * What @fastify/helmet sends on the API's JSON answers (/v1, /v2): what still matters for a body no
 * browser renders (OWASP's REST Security Cheat Sheet) — HSTS, no framing, no referrer, no resource
 * loads from other origins, and a CSP that allows nothing. The headers that only guard a rendered
 * HTML page are left out: they were half of every answer's header bytes, and writing and parsing them
 * cost replays about 15 % of their throughput side by side with the same build without them.
 */
function apiHelmetOptions(hstsMaxAgeSeconds: number): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: hstsMaxAgeSeconds > 0 ? { maxAge: hstsMaxAgeSeconds, includeSubDomains: true } : false,
    xContentTypeOptions: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  };
}

export interface SecurityHeaders {
  /** On the API's routes. */
  api: Record<string, string>;
  /** On everything else: the console, /docs, health, metrics, a 404. */
  pages: Record<string, string>;
}

/**
 * The headers @fastify/helmet sets, read once at boot from a throwaway instance: the plugin builds its
 * middleware anew on every request (about 3 µs, as much as a replay's whole budget for this issue),
 * while these headers never change for a given configuration.
 */
export async function securityHeaders(hstsMaxAgeSeconds: number): Promise<SecurityHeaders> {
  const [api, pages] = await Promise.all([helmetHeaders(apiHelmetOptions(hstsMaxAgeSeconds)), helmetHeaders(helmetOptions(hstsMaxAgeSeconds))]);
  return { api, pages };
}

async function helmetHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  try {
    await probe.register(helmet, options);
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
export function registerSecurityHeaders(fastify: FastifyInstance, { api, pages }: SecurityHeaders): void {
  const headersFor = (url: string) => (isApiUrl(url) ? api : pages);
  fastify.decorate('securityHeadersFor', headersFor);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.headers(headersFor(request.url));
    done();
  });
}
