import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PACTS_DIR, pactFileOf, settlePactFile } from './fixtures.js';

const RELEASED = 'partner-checkout/1.0.0.json';
const script = (name: string) => fileURLToPath(new URL(`../../scripts/${name}`, import.meta.url));

function run(name: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [script(name), ...args], { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

let copy: string;
beforeEach(() => {
  copy = mkdtempSync(join(tmpdir(), 'frozen-pacts-'));
  cpSync(PACTS_DIR, copy, { recursive: true });
});
afterEach(() => rmSync(copy, { recursive: true, force: true }));

describe('check-frozen-pacts', () => {
  it('passes on the pacts of this checkout: no released pact was touched', () => {
    const result = run('check-frozen-pacts.mjs');
    expect(result.output).toContain('unchanged');
    expect(result.status).toBe(0);
  });

  it('passes on an untouched copy', () => {
    expect(run('check-frozen-pacts.mjs', copy).status).toBe(0);
  });

  it('fails, naming the file, when a released pact was edited', () => {
    const file = join(copy, RELEASED);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"status": 201', '"status": 200'));
    const result = run('check-frozen-pacts.mjs', copy);
    expect(result.status).toBe(1);
    expect(result.output).toContain(`${RELEASED} was edited`);
  });

  it('fails on an edit that only adds whitespace: released bytes are frozen, not just their meaning', () => {
    appendFileSync(join(copy, RELEASED), '\n');
    expect(run('check-frozen-pacts.mjs', copy).status).toBe(1);
  });

  it('fails, naming the file, when a released pact was deleted', () => {
    rmSync(join(copy, RELEASED));
    const result = run('check-frozen-pacts.mjs', copy);
    expect(result.status).toBe(1);
    expect(result.output).toContain(`${RELEASED} was deleted`);
  });
});

describe('release-pact', () => {
  it('freezes a newly released consumer version alongside the ones released before', () => {
    const before = Object.keys(JSON.parse(readFileSync(join(copy, 'released.json'), 'utf8')));
    const next = join(copy, 'partner-checkout', '1.1.0.json');
    cpSync(join(copy, RELEASED), next);
    expect(run('release-pact.mjs', next).status).toBe(0);

    const released = JSON.parse(readFileSync(join(copy, 'released.json'), 'utf8'));
    expect(Object.keys(released).sort()).toEqual([...before, 'partner-checkout/1.1.0.json'].sort());
    expect(before).toContain(RELEASED);
    expect(run('check-frozen-pacts.mjs', copy).status).toBe(0);
    appendFileSync(next, ' ');
    expect(run('check-frozen-pacts.mjs', copy).output).toContain('partner-checkout/1.1.0.json was edited');
  });

  it('refuses to release an edited pact over its frozen bytes', () => {
    appendFileSync(join(copy, RELEASED), ' ');
    const before = readFileSync(join(copy, 'released.json'), 'utf8');
    expect(run('release-pact.mjs', join(copy, RELEASED)).status).toBe(1);
    expect(readFileSync(join(copy, 'released.json'), 'utf8')).toBe(before);
  });
});

describe('a consumer test of a released version', () => {
  it('refuses to write a different contract over its frozen file', () => {
    const frozen = pactFileOf('partner-checkout', '1.0.0');
    const before = readFileSync(frozen);
    const changed = JSON.parse(before.toString('utf8'));
    changed.interactions.pop();
    const written = join(copy, 'written.json');
    writeFileSync(written, JSON.stringify(changed, null, 2));

    expect(() => settlePactFile(written, frozen)).toThrow(/released and frozen/);
    expect(readFileSync(frozen).equals(before)).toBe(true);
  });

  it('accepts the same contract written by another Pact version, and leaves the file as released', () => {
    const frozen = pactFileOf('partner-checkout', '1.0.0');
    const before = readFileSync(frozen);
    const rewritten = JSON.parse(before.toString('utf8'));
    rewritten.metadata['pact-js'].version = '99.0.0';
    const written = join(copy, 'written.json');
    writeFileSync(written, JSON.stringify(rewritten, null, 2));

    settlePactFile(written, frozen);
    expect(readFileSync(frozen).equals(before)).toBe(true);
  });
});
