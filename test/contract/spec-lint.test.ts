import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, it } from 'vitest';
import YAML from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
}

/** `redocly lint` with our redocly.yaml, as `npm run lint:spec` runs it (offline: no update check, no telemetry). */
async function lint(spec: string): Promise<{ code: number; problems: LintProblem[] }> {
  const args = ['lint', spec, '--config', join(root, 'redocly.yaml'), '--format=json'];
  const env = { ...process.env, REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', REDOCLY_TELEMETRY: 'off' };
  let code = 0;
  let stdout: string;
  try {
    ({ stdout } = await run(join(root, 'node_modules/.bin/redocly'), args, { cwd: root, env }));
  } catch (error) {
    ({ code, stdout } = error as { code: number; stdout: string });
  }
  const { problems } = JSON.parse(stdout) as { problems: LintProblem[] };
  return { code, problems: problems.map(({ ruleId, severity, message }) => ({ ruleId, severity, message })) };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'idempay-lint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** openapi/v1.yaml with one deliberate problem, written where the lint can read it. */
async function brokenContract(name: string, breakIt: (spec: ReturnType<typeof YAML.parse>) => void): Promise<string> {
  const spec = YAML.parse(await readFile(join(root, 'openapi/v1.yaml'), 'utf8'));
  breakIt(spec);
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, YAML.stringify(spec));
  return file;
}

describe.concurrent('the spec lint (redocly.yaml)', () => {
  it.for(['openapi/v1.yaml', 'openapi/v2.yaml'])('passes %s with no error and no warning', async (spec, { expect }) => {
    const { code, problems } = await lint(spec);
    expect(problems).toEqual([]);
    expect(code).toBe(0);
  });

  // The generated types name operations by operationId, so redocly.yaml makes its absence an error.
  it('fails a contract with an operation without operationId', async ({ expect }) => {
    const file = await brokenContract('no-operation-id', (spec) => delete spec.paths['/v1/payments'].post.operationId);
    const { code, problems } = await lint(file);
    expect(problems).toEqual([expect.objectContaining({ ruleId: 'operation-operationId', severity: 'error' })]);
    expect(code).toBe(1);
  });

  // The stock no-server-example.com rule is off for our localhost server; ours still refuses the placeholder.
  it('fails a contract whose server is on example.com', async ({ expect }) => {
    const file = await brokenContract('example-server', (spec) => {
      spec.servers = [{ url: 'https://api.example.com' }];
    });
    const { code, problems } = await lint(file);
    expect(problems).toEqual([expect.objectContaining({ ruleId: 'rule/no-placeholder-server', severity: 'error' })]);
    expect(code).toBe(1);
  });
});
