import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import { ProblemError } from '../errors/problem.js';
import { ConsoleRefusal } from './console-refusal.js';
import { redirect, sendPage } from './console-reply.js';
import { errorPage } from './views/error.page.js';
import { loginPage } from './views/login.page.js';

/** The console answers with pages, not problem+json: a refusal or a failure is a page a person can read. */
@Catch()
export class ConsoleErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Console');

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof ConsoleRefusal && exception.kind === 'login-required') {
      // A page asked for is one click from the login; a form posted without a session is not carried out.
      if (request.method === 'GET' || request.method === 'HEAD') redirect(reply, '/console/login');
      else sendPage(reply, 401, loginPage(exception.message));
      return;
    }
    const csrf = request.consoleSession?.csrf;
    if (exception instanceof ConsoleRefusal || exception instanceof ProblemError) {
      sendPage(reply, exception.status, errorPage(exception.status, exception.message, csrf, request.id));
      return;
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      sendPage(reply, exception.getStatus(), errorPage(exception.getStatus(), exception.message, csrf, request.id));
      return;
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(`${request.method} ${request.routeOptions?.url ?? '(no route)'} answered 503: the database is unavailable (trace ${request.id})`);
      reply.header('retry-after', '1');
      sendPage(reply, 503, errorPage(503, 'The database is unavailable for a moment: reload the page shortly.', csrf, request.id));
      return;
    }
    this.logger.error(`${request.method} ${request.routeOptions?.url ?? '(no route)'} failed (trace ${request.id}): ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`);
    sendPage(reply, 500, errorPage(500, 'Something failed on our side; the trace id below finds it in the logs.', csrf, request.id));
  }
}
