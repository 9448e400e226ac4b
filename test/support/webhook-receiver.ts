import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
  /** performance.now() when the request's body had arrived. */
  at: number;
}

export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Hold the answer this long (a slow endpoint). */
  delayMs?: number;
}

/** What to answer the n-th request (from 0); 204 when absent. */
export type Responder = (request: ReceivedWebhook, n: number) => ReceiverAnswer;

/** A merchant's endpoint: a node:http server on 127.0.0.1 that keeps every request it got. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  responder: Responder = () => ({ status: 204 });
  private server!: Server;

  static async start(responder?: Responder): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    if (responder) receiver.responder = responder;
    receiver.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const request = { headers: req.headers, body, path: req.url ?? '', at: performance.now() };
        const n = receiver.received.length;
        receiver.received.push(request);
        const answer = receiver.responder(request, n);
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, answer.headers ?? {});
          res.end();
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
        else send();
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** The event ids received, in order (a retried event appears once per attempt). */
  ids(): string[] {
    return this.received.map((r) => String(r.headers['webhook-id']));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
