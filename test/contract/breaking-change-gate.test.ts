import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify, stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, it } from 'vitest';
import YAML from 'yaml';
import { type Spec, variants, type Variant } from './gate-fixtures/variants.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

// One optic run keeps a core busy for about 3 s: two at a time use both cores of our machines, more
// only queue. The per-test timeout covers the wait for a slot.
const OPTIC_SLOTS = 2;
const TIMEOUT_MS = 120_000;

function pool(slots: number) {
  let free = slots;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}
const inSlot = pool(OPTIC_SLOTS);

async function gate(...specs: string[]): Promise<{ code: number; report: string }> {
  return inSlot(async () => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['scripts/contract-check.mjs', ...specs], { cwd: root });
      return { code: 0, report: stripVTControlCharacters(stdout + stderr) };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, report: stripVTControlCharacters(failed.stdout + failed.stderr) };
    }
  });
}

let dir: string;
let contract: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'idempay-gate-'));
  contract = await readFile(join(root, 'openapi/v1.yaml'), 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The paths the variants change. The others are left out of both sides: optic reads a smaller
 * contract in 4.3 s instead of 6.1 s, and the change it judges is the same.
 */
const VARIANT_PATHS = ['/v1/payments', '/v1/payments/{id}'];

function variantBase(): Spec {
  const spec = YAML.parse(contract);
  spec.paths = Object.fromEntries(VARIANT_PATHS.map((path) => [path, spec.paths[path]]));
  return spec;
}

/** The gate on a variant: the contract (after the variant's setup) as released, the variant as current. */
async function gateOn(variant: Variant, index: number) {
  const [released, current] = [variantBase(), variantBase()];
  variant.setup?.(released);
  variant.setup?.(current);
  variant.change(current);
  const [releasedFile, currentFile] = [join(dir, `${index}-released.yaml`), join(dir, `${index}-current.yaml`)];
  await writeFile(releasedFile, YAML.stringify(released));
  await writeFile(currentFile, YAML.stringify(current));
  return gate(releasedFile, currentFile);
}

describe.concurrent('the breaking-change gate (scripts/contract-check.mjs)', () => {
  // The gate as `npm run contract:check` runs it: a breaking edit of openapi/v1.yaml fails the suite too.
  it('finds openapi/v1.yaml compatible with openapi/released/v1.yaml', { timeout: TIMEOUT_MS }, async ({ expect }) => {
    const { code, report } = await gate();
    expect(report).toContain('openapi/v1.yaml is compatible with openapi/released/v1.yaml');
    expect(code).toBe(0);
  });

  variants.forEach((variant, index) => {
    it(`${variant.breaking ? 'fails on' : 'passes'} ${variant.name}`, { timeout: TIMEOUT_MS }, async ({ expect }) => {
      const { code, report } = await gateOn(variant, index);
      expect(report).toMatch(variant.reported);
      expect(code).toBe(variant.breaking ? 1 : 0);
    });
  });
});
