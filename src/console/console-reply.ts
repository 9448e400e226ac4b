import type { FastifyReply } from 'fastify';
import type { SafeHtml } from './views/html.js';

/**
 * The console's pages load nothing but its own stylesheet: no script at all, no inline style, no
 * frame may hold them (the kill switch is one click), forms post to this origin only.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': PAGE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

export function sendPage(reply: FastifyReply, status: number, page: SafeHtml, cookie?: string): FastifyReply {
  reply.code(status).headers(PAGE_HEADERS);
  if (cookie) reply.header('set-cookie', cookie);
  return reply.send(page.value);
}

/** After a form: 303, so the browser follows with a GET and a reload does not post it again. */
export function redirect(reply: FastifyReply, location: string, cookie?: string): FastifyReply {
  reply.code(303).header('location', location).header('cache-control', 'no-store');
  if (cookie) reply.header('set-cookie', cookie);
  return reply.send();
}
