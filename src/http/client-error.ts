import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../errors/problem.js';
import { API_HEADERS } from './api-headers.js';
import { newTraceId } from '../observability/trace-ids.js';

/** The request each connection is receiving, so an answer written on its socket carries that request's trace id. */
const receiving = new WeakMap<Socket, { request: FastifyRequest; reply: FastifyReply }>();

export function requestStarted(request: FastifyRequest, reply: FastifyReply): void {
  receiving.set(request.raw.socket, { request, reply });
}

export function requestAnswered(request: FastifyRequest): void {
  const socket = request.raw.socket;
  // A pipelined request may already have taken the connection's entry.
  const forget = () => receiving.get(socket)?.request === request && receiving.delete(socket);
  // Answered before its body arrived (a refusal at once): until the body ends, a timeout on this
  // connection belongs to this request, which must not get a second answer.
  if (request.raw.complete) forget();
  else request.raw.once('end', forget);
}

/**
 * Node's `clientError`: a request its parser refused (bad bytes in the request line or a header) or
 * one that did not arrive within the request or headers timeout. Answered as problem+json when
 * nothing of another answer was written yet, then the connection is closed. `answered` hears of
 * the request that got this answer, if one had started (Fastify never sees it completed).
 */
export function answerClientError(
  error: Error & { code?: string },
  socket: Socket,
  answered?: (request: FastifyRequest, reply: FastifyReply, status: number) => void,
): void {
  const current = receiving.get(socket);
  receiving.delete(socket);
  if (!socket.writable || current?.reply.raw.headersSent) {
    socket.destroy();
    return;
  }
  const traceId = current?.request.id ?? newTraceId();
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? problemBody('request-timeout', "The request did not arrive within the server's time limit and was not run; send it again (with the same Idempotency-Key, if it had one).", traceId)
      : problemBody('validation-failed', `The HTTP request could not be parsed (${error.code ?? 'bad request'}).`, traceId);
  const body = JSON.stringify(problem);
  const headers = { ...API_HEADERS, 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'trace-id': traceId, connection: 'close' };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${head}\r\n${body}`, () => socket.destroy());
  if (current) answered?.(current.request, current.reply, problem.status);
}
