import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../errors/problem.js';
import { rawBodyOf } from './raw-body.js';

const UTF8 = /^"?utf-?8"?$/i;

/**
 * Fastify's JSON parser with two changes. A body declared in another charset, or under two
 * Content-Type headers, is a 415: it would be read as UTF-8 and mean something else than what was
 * sent. And `__proto__` or `constructor` keys are parsed as plain own keys instead of failing the
 * parse, so the input guard refuses them with
 * every other Object.prototype name, naming the field, before any code reads the body. A route
 * that keeps its body raw (see raw-body.ts) gets the bytes, unparsed.
 */
export function registerJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('ignore', 'ignore');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Node keeps only the first of two Content-Type headers; which one the body is in is not ours to guess.
    if ((request.raw.headersDistinct['content-type']?.length ?? 0) > 1) {
      done(new ProblemError('unsupported-media-type', 'Send exactly one Content-Type header.'), undefined);
      return;
    }
    const charset = /;\s*charset=([^;]*)/i.exec(request.headers['content-type'] ?? '')?.[1]?.trim();
    if (charset !== undefined && !UTF8.test(charset)) {
      done(new ProblemError('unsupported-media-type', `Send the JSON body in UTF-8 (it was declared as charset=${charset.slice(0, 40)}).`), undefined);
      return;
    }
    const raw = rawBodyOf(request);
    if (raw) {
      done(null, raw);
      return;
    }
    parse(request, body as string, done);
  });
}
