import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * An HTTP proxy in front of the sandbox provider that can hold a charge's answer: the charge is
 * executed, and the proxy waits for `hold` to finish before passing the answer on, as when a
 * provider's webhook overtakes the answer to the call that caused it.
 */
export class HoldingProxy {
  /** Set once the sandbox listens. */
  target = '';
  /** Called with the charge's key and the sandbox's answer; the answer goes on when it resolves. Undefined: nothing is held. */
  hold: ((key: string, answer: Record<string, unknown>) => Promise<void>) | undefined;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      void this.forward(request).then(
        ({ status, headers, body }) => response.writeHead(status, headers).end(body),
        () => response.destroy(),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async forward(request: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name, value]) => typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name)),
    ) as Record<string, string>;
    const answer = await fetch(`${this.target}${request.url}`, { method: request.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const body = await answer.text();
    const key = request.headers['idempotency-key'];
    if (this.hold && request.method === 'POST' && request.url === '/v1/charges' && typeof key === 'string' && answer.status === 200) {
      await this.hold(key, JSON.parse(body) as Record<string, unknown>);
    }
    return { status: answer.status, headers: { 'content-type': answer.headers.get('content-type') ?? 'application/json' }, body };
  }
}
