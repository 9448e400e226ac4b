import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP proxy in front of Postgres, for making the database go away under a running app the way a
 * restart or a network cut does, without touching the real server: `cut()` resets every connection
 * and refuses new ones, `freeze()` keeps every connection open and lets no byte through either way,
 * old connections or new (a hung network or a paused host), `refuseNew()` keeps the open connections
 * and refuses new ones until `acceptNew()`, `restore()` brings it back on the same port.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<[Socket, Socket]>();
  private mode: 'forward' | 'frozen' = 'forward';
  port = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.listen();
    return proxy;
  }

  /** The same database URL, through the proxy. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    this.pairs.clear();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  freeze(): void {
    this.mode = 'frozen';
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** New connections are refused and the open ones go on, as with a server at its connection limit. */
  refuseNew(): void {
    this.server?.close();
    this.server = undefined;
  }

  /** New connections are taken again, after refuseNew(). */
  acceptNew(): Promise<void> {
    return this.listen();
  }

  async restore(): Promise<void> {
    await this.cut();
    this.mode = 'forward';
    await this.listen();
  }

  close(): Promise<void> {
    return this.cut();
  }

  private listen(): Promise<void> {
    const server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.mode === 'frozen') return;
      const upstream = connect(this.target.port, this.target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.sockets.add(upstream);
      this.pairs.add(pair);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        this.pairs.delete(pair);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        const address = server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
  }
}
