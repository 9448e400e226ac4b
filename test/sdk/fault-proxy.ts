/**
 * A loopback HTTP proxy between the SDK and the real API that misbehaves on cue, to show what the
 * SDK does when the network or the server fails. Each incoming request takes the next scripted fault
 * (then `forward` once the script is used up) and is logged with what happened to it.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'forward' }
  /** The API gets the request and acts on it; the client is told 503 instead of its answer. */
  | { kind: 'forward-then-503'; retryAfter?: number }
  /** The API gets the request and acts on it; the client's connection is cut before any answer. */
  | { kind: 'forward-then-destroy' }
  /** Answered by the proxy with a problem of `code`, or with `html` (a gateway's error page); the API never sees the request. */
  | { kind: 'respond'; status: number; code?: string; retryAfter?: number; html?: string }
  /** Cut before the API sees the request. */
  | { kind: 'destroy' }
  /** Forwarded after `ms`, even when the client has given up meanwhile. */
  | { kind: 'hold'; ms: number };

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  fault: Fault['kind'];
  /** The API's answer, when the request was forwarded. */
  upstream?: { status: number; headers: IncomingHttpHeaders; body: string };
}

export interface FaultProxy {
  url: string;
  log: LoggedRequest[];
  /** Faults for the next requests, in order. */
  script(...faults: Fault[]): void;
  /** Every request gets this fault once the script is used up (default `forward`). */
  always(fault: Fault): void;
  /** How many of the logged requests reached the API. */
  forwarded(): number;
  /** Resolves when no request is being handled (a held one may still be on its way to the API). */
  idle(): Promise<void>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 10_000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

function readBody(message: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    message.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) message.destroy(new Error('body over the proxy limit'));
      else chunks.push(chunk);
    });
    message.on('end', () => resolve(Buffer.concat(chunks)));
    message.on('error', reject);
  });
}

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  return kept;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const log: LoggedRequest[] = [];
  let queue: Fault[] = [];
  let fallback: Fault = { kind: 'forward' };
  const pending = new Set<Promise<void>>();
  const sockets = new Set<Socket>();

  function forward(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<NonNullable<LoggedRequest['upstream']> & { raw: Buffer }> {
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: upstream.hostname, port: upstream.port, method, path, headers: { ...endToEnd(headers), 'content-length': body.length }, timeout: UPSTREAM_TIMEOUT_MS },
        (answer) => {
          readBody(answer).then(
            (raw) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: raw.toString('utf8'), raw }),
            reject,
          );
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error('upstream timed out')));
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  function reply(res: ServerResponse, status: number, headers: Record<string, string | string[] | number>, body: Buffer | string): void {
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function problem(status: number, code: string): string {
    return JSON.stringify({ type: `urn:idempay:problem:${code}`, title: `Injected ${status}`, status, detail: 'Injected by the fault proxy.', code, trace_id: '0'.repeat(32) });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = queue.shift() ?? fallback;
    const body = await readBody(req);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const entry: LoggedRequest = { method, path, headers: req.headers, body: body.toString('utf8'), fault: fault.kind };
    log.push(entry);
    const retryAfter = (seconds: number | undefined): Record<string, string> => (seconds === undefined ? {} : { 'retry-after': String(seconds) });
    switch (fault.kind) {
      case 'respond':
        if (fault.html !== undefined) reply(res, fault.status, { 'content-type': 'text/html' }, fault.html);
        else reply(res, fault.status, { 'content-type': 'application/problem+json', ...retryAfter(fault.retryAfter) }, problem(fault.status, fault.code ?? 'injected-fault'));
        return;
      case 'destroy':
        req.socket.destroy();
        return;
      case 'hold':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        break;
      default:
        break;
    }
    const answer = await forward(method, path, req.headers, body);
    entry.upstream = { status: answer.status, headers: answer.headers, body: answer.body };
    if (fault.kind === 'forward-then-destroy') {
      req.socket.destroy();
    } else if (fault.kind === 'forward-then-503') {
      reply(res, 503, { 'content-type': 'application/problem+json', ...retryAfter(fault.retryAfter) }, problem(503, 'service-unavailable'));
    } else {
      reply(res, answer.status, endToEnd(answer.headers), answer.raw);
    }
  }

  const server = createServer((req, res) => {
    const task = handle(req, res)
      .catch(() => {
        if (!res.destroyed) res.destroy();
      })
      .finally(() => pending.delete(task));
    pending.add(task);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const idle = async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };

  return {
    url: `http://127.0.0.1:${port}`,
    log,
    script: (...faults) => {
      queue.push(...faults);
    },
    always: (fault) => {
      fallback = fault;
    },
    forwarded: () => log.filter((entry) => entry.upstream !== undefined).length,
    idle,
    async reset() {
      await idle();
      queue = [];
      fallback = { kind: 'forward' };
      log.length = 0;
    },
    async close() {
      await idle();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
