import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody } from './errors/problem.js';
import { API_HEADERS } from './http/api-headers.js';
import { answerClientError, requestAnswered, requestStarted } from './http/client-error.js';
import { v1DeprecationHeaders } from './http/deprecation.js';
import { answerFrameworkError } from './http/framework-errors.js';
import { registerJsonBodyParser } from './http/json-body-parser.js';
import { ProblemFilter } from './http/problem.filter.js';
import { queryCarriesSecretKey, redactQuery } from './http/query-secrets.js';
import { registerRawBodyRoutes } from './http/raw-body.js';
import { registerRequestContext } from './http/request-context.js';
import { RequestLog } from './http/request-log.js';
import { registerSecurity } from './http/security.js';
import { traceIdOf } from './http/trace-id.js';
import { Shutdown } from './lifecycle/shutdown.js';
import { metricsServed } from './metrics/metrics.module.js';
import { registerRequestMetrics } from './metrics/request-metrics.js';
import { createLogger } from './observability/logger.js';
import { nestLoggerOf } from './observability/nest-logger.js';
import { Tracing } from './observability/tracing.js';

/** Fastify's request log fields, with the query redacted: a key sent in a URL must not reach the logs. */
function requestLogFields(request: FastifyRequest) {
  return { method: request.method, url: redactQuery(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort };
}

export interface AppOptions {
  /** Where log lines go instead of stdout (the tests read them). */
  logStream?: DestinationStream;
  /** Spans go here instead of OTLP (the tests read them). */
  spanExporter?: SpanExporter;
}

/** The API as a Nest application on Fastify; `main.ts` and the tests both build it here. */
export async function createApp(config: AppConfig, { logStream, spanExporter }: AppOptions = {}): Promise<NestFastifyApplication> {
  const logger = createLogger(config, { destination: logStream, serializers: { req: requestLogFields } });
  const tracing = new Tracing(config, spanExporter);
  const requestLog = new RequestLog(logger, tracing);
  // Node looks for requests past their timeouts only this often (30 s by default): a quarter of the
  // shorter timeout, at most a second, so a slow client is cut at most 25% late.
  const connectionsCheckingInterval = Math.min(1_000, Math.ceil(config.httpHeadersTimeoutMs / 4));
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    genReqId: traceIdOf,
    requestIdHeader: false,
    loggerInstance: logger,
    logController: requestLog,
    // A line logged while serving a request takes its trace id from the request's context: no child logger per request.
    childLoggerFactory: (parent: FastifyBaseLogger) => parent,
    // Answered below as problem+json instead of Nest's own 503 body.
    return503OnClosing: false,
    clientErrorHandler: (error, socket) => answerClientError(error, socket, (request, reply, status) => requestLog.completed(request, status, reply.elapsedTime)),
    frameworkErrors: answerFrameworkError,
    // Fastify sets these two on the server after creating it; `http` is what Node is created with,
    // and it refuses a headers timeout longer than its request timeout there.
    requestTimeout: config.httpRequestTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    http: { requestTimeout: config.httpRequestTimeoutMs, headersTimeout: config.httpHeadersTimeoutMs, connectionsCheckingInterval },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, tracing), adapter, {
    logger: nestLoggerOf(logger),
    // Fastify's own JSON parser only: no urlencoded bodies, and the body limit applies as configured.
    bodyParser: false,
    // A failure to start is thrown to the caller (main.ts prints it and exits), not a process.exit here.
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // First, so every hook after it runs in the request's trace context.
  registerRequestContext(fastify, tracing);
  // JSON only: a text/plain body is a 415, not a string that reaches validation.
  fastify.removeContentTypeParser('text/plain');
  registerJsonBodyParser(fastify);
  // Before app.init() registers the routes, which is when the hook sees them.
  registerRawBodyRoutes(fastify);
  await registerSecurity(fastify, config);
  // From the moment shutdown begins (SIGTERM), answers still in flight close their connection, so
  // the server can finish closing as soon as they are sent instead of waiting on the clients'
  // keep-alive sockets, and a new request is told to go elsewhere; the health probes still answer.
  const shutdown = app.get(Shutdown);
  // The app's hooks take a callback rather than return a promise: one promise and one microtask
  // fewer per hook and request.
  fastify.addHook('onRequest', (request, reply, done) => {
    requestStarted(request, reply);
    if (shutdown.draining && !request.url.startsWith('/health/')) {
      const body = problemBody('service-unavailable', 'The server is shutting down; retry on another instance.', request.id);
      reply.code(503).headers({ 'content-type': PROBLEM_CONTENT_TYPE, 'retry-after': '1' }).send(JSON.stringify(body));
      return;
    }
    // Before authentication: the key is exposed whether or not it is valid. An unknown route stays a 404.
    if (!request.is404 && queryCarriesSecretKey(request.url)) {
      done(
        new ProblemError(
          'api-key-in-url',
          'Send your secret key in the "Authorization: Bearer sk_…" header, never in the URL: URLs are kept in logs, proxies and browser history. Treat a key sent this way as exposed and roll it.',
        ),
      );
      return;
    }
    done();
  });
  fastify.addHook('onResponse', (request, _reply, done) => {
    requestAnswered(request);
    done();
  });
  // Recorded only where someone can read them.
  if (metricsServed(config)) registerRequestMetrics(fastify);
  const deprecation = v1DeprecationHeaders(config);
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (shutdown.draining) reply.header('connection', 'close');
    if (deprecation && request.url.startsWith('/v1/')) reply.headers(deprecation);
    reply.header('x-content-type-options', API_HEADERS['x-content-type-options']);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', API_HEADERS['cache-control']);
    done(null, payload);
  });
  app.useGlobalFilters(new ProblemFilter());
  await app.init();
  return app;
}
