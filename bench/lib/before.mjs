/**
 * idempay as it was before a given commit's changes, built beside this checkout so one run measures
 * both: the cost of a change is a ratio within the run, not a comparison of runs on a noisy machine.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './processes.mjs';

const run = promisify(execFile);

/** The tree of `ref` (a commit of this repository), built with this checkout's node_modules; returns its folder. */
export async function buildBefore(ref, say) {
  const { stdout } = await run('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT });
  const commit = stdout.trim();
  const dir = join(tmpdir(), `idempay-bench-before-${commit.slice(0, 12)}`);
  if (existsSync(join(dir, 'dist/main.js'))) return { dir, commit };
  say(`building idempay at ${commit.slice(0, 12)} in ${dir}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // git archive writes the committed tree only: no worktree bookkeeping left in the repository.
  await run('sh', ['-c', `git archive ${commit} | tar -x -C "${dir}"`], { cwd: ROOT });
  // Its dependencies are a subset of this checkout's, at the same versions.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, timeout: 300_000 });
  return { dir, commit };
}
