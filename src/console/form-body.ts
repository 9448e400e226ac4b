import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../errors/problem.js';

/** Route config (`@RouteConfig(FORM_BODY)`) of a console route that takes an HTML form. */
export const FORM_BODY = { consoleForm: true } as const;

/** The console's forms are a token, a reason and a CSRF token: far below this. */
const FORM_BODY_LIMIT = 8 * 1024;

/**
 * Parses urlencoded bodies into URLSearchParams (no object, so no key can reach a prototype) on the
 * console's form routes only: everywhere else such a body stays the 415 the API has always answered.
 */
@Injectable()
export class FormBodyParser implements OnModuleInit {
  constructor(private readonly adapter: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (request, body, done) => {
      if ((request.routeOptions.config as { consoleForm?: boolean } | undefined)?.consoleForm !== true) {
        done(new ProblemError('unsupported-media-type', 'Send the body as JSON with "Content-Type: application/json".'), undefined);
        return;
      }
      done(null, new URLSearchParams(body as string));
    });
  }
}
