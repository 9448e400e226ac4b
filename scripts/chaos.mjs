#!/usr/bin/env node
/**
 * `npm run test:chaos`: the long runs of the reliability suites (vitest.chaos.config.ts), bounded to
 * 15 minutes, then their figures written into docs/RELIABILITY.md between its long-run markers.
 * The figures come from this run only: what an earlier run left is removed first.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FIGURES = join('.chaos', 'figures');
const DOC = join('docs', 'RELIABILITY.md');
const START = '<!-- long-run:start -->';
const END = '<!-- long-run:end -->';
const LIMIT_MS = 15 * 60_000;

await rm(FIGURES, { recursive: true, force: true });
const started = Date.now();
const vitest = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.chaos.config.ts'], { stdio: 'inherit' });
const limit = setTimeout(() => {
  console.error(`test:chaos: over ${LIMIT_MS / 60_000} minutes, stopped`);
  vitest.kill('SIGTERM');
}, LIMIT_MS);
const code = await new Promise((resolve) => vitest.on('exit', (c, signal) => resolve(c ?? signal)));
clearTimeout(limit);
if (code !== 0) {
  console.error(`test:chaos: the long runs failed (${code}); docs/RELIABILITY.md keeps its last figures`);
  process.exit(1);
}

const suites = [];
for (const file of (await readdir(FIGURES)).sort()) suites.push(JSON.parse(await readFile(join(FIGURES, file), 'utf8')));
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const lines = [
  START,
  `Last long run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run test:chaos\`, ${minutes} min in all, Node ${process.version}.`,
  '',
  '| suite | figures |',
  '|---|---|',
  ...suites.map(({ suite, finishedAt, ...figures }) => `| ${suite} | ${Object.entries(figures).map(([k, v]) => `${k}: ${format(v)}`).join(' · ')} |`),
  END,
];
const doc = await readFile(DOC, 'utf8');
const from = doc.indexOf(START);
const to = doc.indexOf(END);
if (from < 0 || to < from) throw new Error(`${DOC} lacks its ${START} … ${END} markers`);
await writeFile(DOC, `${doc.slice(0, from)}${lines.join('\n')}${doc.slice(to + END.length)}`);
console.log(`test:chaos: passed in ${minutes} min; figures written to ${DOC}`);

function format(value) {
  if (Array.isArray(value)) return value.join(', ');
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length > 1 && entries.every(([, v]) => v === 0)) return `all 0 (${entries.map(([k]) => k).join(', ')})`;
    return entries.map(([k, v]) => `${k} ${v}`).join(', ');
  }
  return String(value);
}
