/** An answer as stored with its key: replaying it sends these exact bytes again. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): StoredResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

export function toWebResponse(stored: StoredResponse, replayed: boolean): Response {
  const headers = new Headers(stored.headers);
  if (replayed) headers.set('Idempotent-Replayed', 'true');
  headers.set('content-length', String(Buffer.byteLength(stored.body)));
  return new Response(stored.body, { status: stored.status, headers });
}
