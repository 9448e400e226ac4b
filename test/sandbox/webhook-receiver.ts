/** A webhook receiver on a loopback port: records every request it gets, raw, and answers as the test says. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as a verifier must see it. */
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  event: any;
  /** `performance.now()` when the request was complete. */
  at: number;
}

/** The status for the n-th request (from 0), `'hang'` to never answer, or a redirect. */
export type Answering = (n: number, received: Received) => number | 'hang' | { redirect: string };

export interface Receiver {
  url: string;
  received: Received[];
  answering: Answering;
  /** Forgets what was received and answers 200 again. */
  clear(): void;
  /** The received events' webhook-ids by idempotency key. */
  byKey(): Map<string, string[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const receiver = {
    received: [] as Received[],
    answering: (() => 200) as Answering,
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event: unknown;
      try {
        event = JSON.parse(body);
      } catch {
        event = undefined;
      }
      const received: Received = { path: request.url ?? '', headers: request.headers, body, event, at: performance.now() };
      const n = receiver.received.push(received) - 1;
      const answer = receiver.answering(n, received);
      if (answer === 'hang') return;
      if (typeof answer === 'object') {
        response.writeHead(302, { location: answer.redirect }).end();
        return;
      }
      response.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks`,
    clear() {
      receiver.received.length = 0;
      receiver.answering = () => 200;
    },
    byKey() {
      const keys = new Map<string, string[]>();
      for (const { event, headers } of receiver.received) {
        const key = event?.data?.object?.idempotency_key as string;
        keys.set(key, [...(keys.get(key) ?? []), headers['webhook-id'] as string]);
      }
      return keys;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
