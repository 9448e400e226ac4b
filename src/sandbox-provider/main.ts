/**
 * Runs the sandbox provider on its own: `node dist/sandbox-provider/main.js` (SANDBOX_PORT, the knobs'
 * SANDBOX_* variables of faults.ts, and SANDBOX_WEBHOOK_URL, SANDBOX_WEBHOOK_SIGNING_SECRET and the
 * other SANDBOX_WEBHOOK* variables of webhook-knobs.ts).
 */
import { buildSandbox, faultsFromEnv, webhooksFromEnv } from './sandbox-server.js';

const port = Number(process.env.SANDBOX_PORT ?? 4010);
// LOG_LEVEL as the API reads it: a log line per request costs the sandbox more than answering it.
const { app } = buildSandbox({ faults: faultsFromEnv(process.env), webhooks: webhooksFromEnv(process.env), logger: { level: process.env.LOG_LEVEL ?? 'info' } });
await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
