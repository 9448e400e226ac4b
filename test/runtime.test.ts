import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { startChildServer } from './support/child-server.js';

/** The major of the `node` devDependency: the project's own Node, which every npm script runs on. */
const pinned = Number(/(\d+)/.exec((JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.node)?.[1]);

describe('the runtime', () => {
  it(`the suite runs on the pinned Node major (${pinned}), not on whatever Node ran npm`, () => {
    expect(pinned).toBeGreaterThanOrEqual(24);
    expect(Number(process.versions.node.split('.')[0])).toBe(pinned);
  });

  it('the server says at start which Node it runs on', async () => {
    // No provider is called here: the sandbox URL only has to be one.
    const child = await startChildServer({ DATABASE_URL: inject('databaseUrl'), SANDBOX_URL: 'http://127.0.0.1:9' });
    try {
      expect(child.output()).toContain(`idempay on Node ${process.version}`);
    } finally {
      child.process.kill('SIGKILL');
    }
  });
});
