#!/usr/bin/env node
// Released pact files are what released clients rely on: each must still exist with the exact bytes
// it was released with (pacts/released.json). Usage: node scripts/check-frozen-pacts.mjs [pacts-dir]
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = resolve(process.argv[2] ?? fileURLToPath(new URL('../pacts', import.meta.url)));
const released = JSON.parse(readFileSync(join(dir, 'released.json'), 'utf8'));

const broken = Object.entries(released).flatMap(([file, sha256]) => {
  const path = join(dir, file);
  if (!existsSync(path)) return [`${file} was deleted`];
  const actual = createHash('sha256').update(readFileSync(path)).digest('hex');
  return actual === sha256 ? [] : [`${file} was edited (sha256 ${actual}, released as ${sha256})`];
});

for (const problem of broken) console.error(`frozen pact: ${problem}`);
if (broken.length > 0) {
  console.error('Released pacts never change: restore them, and give a changed consumer a new version instead.');
  process.exit(1);
}
console.log(`${Object.keys(released).length} released pact file(s) unchanged`);
