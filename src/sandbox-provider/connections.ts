/**
 * What a failing network does to a request's connection: held without an answer until the client
 * gives up, or reset. Closing the app cuts the connections Node's close would otherwise wait for.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A held connection is destroyed after this even if its client never gives up. */
const HOLD_LIMIT_MS = 120_000;

export class Connections {
  private readonly held = new Set<Socket>();
  // A client that gives up on a held request may open a spare connection it never uses (undici does);
  // Node's close does not count it as idle and would wait for its headers timeout.
  private readonly unused = new Set<Socket>();

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.unused.add(socket);
      socket.once('close', () => this.unused.delete(socket));
    });
    server.on('request', (request: { socket: Socket }) => this.unused.delete(request.socket));
  }

  /** Never answers: the socket stays open until the client closes it, the limit passes, or `cutLingering`. */
  hold(request: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    const socket = request.raw.socket;
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), HOLD_LIMIT_MS);
    this.held.add(socket);
    socket.once('close', () => {
      clearTimeout(timer);
      this.held.delete(socket);
    });
  }

  /** Cuts held and never-used connections, so closing the app does not wait for them. */
  cutLingering(): void {
    for (const socket of [...this.held, ...this.unused]) socket.destroy();
  }
}

/** Cuts the connection with a TCP RST and no answer, as a crashed proxy or provider would. */
export function resetConnection(request: FastifyRequest, reply: FastifyReply): void {
  reply.hijack();
  const socket = request.raw.socket;
  if (!socket.destroyed) socket.resetAndDestroy();
}
