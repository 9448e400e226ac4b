/**
 * A TCP proxy in front of Postgres that counts the client's round trips: each simple Query ('Q') and
 * each Sync ('S', which ends an extended-protocol batch) waits for the server's ReadyForQuery.
 * pg_stat_statements is not loaded on this machine's Postgres, and the bench must not change its
 * configuration, so the wire is where the statements are counted.
 *
 * Frames from the client: the startup packet has no type byte (int32 length, int32 code); an
 * SSLRequest or GSSENCRequest (answered with one byte) is followed by another startup packet, a
 * CancelRequest by nothing. Every later message is a type byte and an int32 length that counts itself.
 */
import { createServer, connect } from 'node:net';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

export async function startCountingProxy(upstreamHost, upstreamPort) {
  const counts = { queries: 0, syncs: 0, encrypted: 0 };
  const sockets = new Set();

  const server = createServer((client) => {
    const upstream = connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);

    let pending = Buffer.alloc(0);
    let startup = true;
    let negotiating = false;
    client.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= (startup ? 8 : 5)) {
        const length = startup ? pending.readInt32BE(0) : pending.readInt32BE(1);
        const size = startup ? length : length + 1;
        if (pending.length < size) break;
        if (startup) {
          const code = pending.readInt32BE(4);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) negotiating = true;
          else startup = false;
        } else if (pending[0] === 0x51) counts.queries++;
        else if (pending[0] === 0x53) counts.syncs++;
        pending = pending.subarray(size);
      }
    });
    // The server's one-byte answer to an SSLRequest: 'S' means what follows is encrypted and cannot be read.
    upstream.once('data', (chunk) => {
      if (negotiating && chunk[0] === 0x53) counts.encrypted++;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: server.address().port,
    /** Round trips so far, all connections together. */
    roundTrips: () => counts.queries + counts.syncs,
    counts,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  };
}
