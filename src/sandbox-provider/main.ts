/** Runs the sandbox provider on its own: `node dist/sandbox-provider/main.js` (SANDBOX_PORT, and the knobs' SANDBOX_* variables of faults.ts). */
import { buildSandbox, faultsFromEnv } from './sandbox-server.js';

const port = Number(process.env.SANDBOX_PORT ?? 4010);
const { app } = buildSandbox({ faults: faultsFromEnv(process.env), logger: true });
await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
