/** What a run needs from the machine, checked first so a missing piece fails with what to do. */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './processes.mjs';

export function checkBuilt() {
  for (const file of ['dist/main.js', 'dist/cli/main.js', 'dist/sandbox-provider/main.js']) {
    if (!existsSync(join(ROOT, file))) throw new Error(`${file} is missing: run \`npm run bench\`, which builds first`);
  }
}

/** A PING over the wire, so the check needs no client of its own. */
export function checkRedis(host = '127.0.0.1', port = 6379) {
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      socket.destroy();
      reject(new Error(`Redis is not reachable at ${host}:${port} (${why}); the peer keeps its idempotency keys there.`));
    };
    const socket = connect(port, host, () => socket.write('PING\r\n'));
    socket.setTimeout(3_000, () => fail('no answer in 3 s'));
    socket.once('error', (error) => fail(error.code ?? error.message));
    socket.once('data', (chunk) => {
      socket.end();
      if (chunk.toString().startsWith('+PONG')) resolve();
      else fail(`it answered ${JSON.stringify(chunk.toString().trim())}`);
    });
  });
}
