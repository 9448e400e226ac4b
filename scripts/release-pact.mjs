#!/usr/bin/env node
// Freezes a consumer's pact when that consumer version is released: records its SHA-256 in the
// released.json of its pacts folder. Usage: node scripts/release-pact.mjs pacts/<consumer>/<version>.json
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const file = resolve(process.argv[2] ?? '');
const dir = dirname(dirname(file));
const name = relative(dir, file).split('\\').join('/');
const index = join(dir, 'released.json');
const released = JSON.parse(readFileSync(index, 'utf8'));
const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');

if (released[name] !== undefined && released[name] !== sha256) {
  console.error(`${name} was released with other bytes: a released pact is never released again`);
  process.exit(1);
}
released[name] = sha256;
const sorted = Object.fromEntries(Object.entries(released).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(index, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`released ${name} (sha256 ${sha256})`);
