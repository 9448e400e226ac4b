import { type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Socket } from 'node:net';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './errors/problem.js';
import { v1DeprecationHeaders } from './http/deprecation.js';
import { registerJsonBodyParser } from './http/json-body-parser.js';
import { ProblemFilter } from './http/problem.filter.js';
import { newTraceId, traceIdOf } from './http/trace-id.js';

const NEST_LEVELS: Record<string, LogLevel[]> = {
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  info: ['fatal', 'error', 'warn', 'log'],
  warn: ['fatal', 'error', 'warn'],
  error: ['fatal', 'error'],
  fatal: ['fatal'],
  silent: [],
};

/** A request Node's HTTP parser refused (bad header bytes, …) still gets a problem+json answer. */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const body = JSON.stringify(problemBody('validation-failed', `The HTTP request could not be parsed (${error.code ?? 'bad request'}).`, newTraceId()));
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The API as a Nest application on Fastify; `main.ts` and the tests both build it here. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    genReqId: traceIdOf,
    requestIdHeader: false,
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    // Answered below as problem+json instead of Nest's own 503 body.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: NEST_LEVELS[config.logLevel],
    // Fastify's own JSON parser only: no urlencoded bodies, and the body limit applies as configured.
    bodyParser: false,
    // A failure to start is thrown to the caller (main.ts prints it and exits), not a process.exit here.
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // JSON only: a text/plain body is a 415, not a string that reaches validation.
  fastify.removeContentTypeParser('text/plain');
  registerJsonBodyParser(fastify);
  // Answers still in flight when shutdown starts close their connection, so the server can finish
  // closing as soon as they are sent instead of waiting on the clients' keep-alive sockets; a new
  // request on such a connection is told to go elsewhere.
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('trace-id', request.id);
    if (closing) {
      const body = problemBody('service-unavailable', 'The server is shutting down; retry on another instance.', request.id);
      return reply.code(503).headers({ 'content-type': PROBLEM_CONTENT_TYPE, 'retry-after': '1' }).send(JSON.stringify(body));
    }
  });
  const deprecation = v1DeprecationHeaders(config);
  fastify.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close');
    if (deprecation && request.url.startsWith('/v1/')) reply.headers(deprecation);
  });
  app.useGlobalFilters(new ProblemFilter());
  await app.init();
  return app;
}
