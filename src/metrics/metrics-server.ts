import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { register } from 'prom-client';
import { AppConfig } from '../config/app-config.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../errors/problem.js';
import { API_HEADERS } from '../http/api-headers.js';
import { newTraceId } from '../observability/trace-ids.js';

/**
 * `GET /metrics` on METRICS_PORT, without a token: a port only the scraper can reach (keep it off
 * the public network). Anything else there is a 404.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: Server | undefined;

  constructor(private readonly config: AppConfig) {}

  /** The port it listens on: METRICS_PORT, or the one the system picked for 0. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((request, response) => void this.answer(request, response));
    server.listen(this.config.metricsPort, this.config.host);
    await once(server, 'listening');
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || request.method !== 'GET') {
      const body = JSON.stringify(problemBody('route-not-found', 'Only GET /metrics is served on this port.', newTraceId(), path));
      response.writeHead(404, { ...API_HEADERS, 'content-type': PROBLEM_CONTENT_TYPE }).end(body);
      return;
    }
    try {
      const text = await register.metrics();
      response.writeHead(200, { ...API_HEADERS, 'content-type': register.contentType }).end(text);
    } catch (error) {
      this.logger.error(`metrics could not be collected: ${error instanceof Error ? error.message : String(error)}`);
      response.writeHead(500, { ...API_HEADERS, 'content-type': PROBLEM_CONTENT_TYPE }).end(JSON.stringify(problemBody('internal-error', 'The metrics could not be collected.', newTraceId())));
    }
  }
}
