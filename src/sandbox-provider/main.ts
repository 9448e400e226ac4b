/** Runs the sandbox provider on its own: `node dist/sandbox-provider/main.js` (SANDBOX_PORT, SANDBOX_LATENCY_MS). */
import { buildSandbox } from './sandbox-server.js';

const port = Number(process.env.SANDBOX_PORT ?? 4010);
const { app } = buildSandbox({ latencyMs: Number(process.env.SANDBOX_LATENCY_MS ?? 0), logger: true });
await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
