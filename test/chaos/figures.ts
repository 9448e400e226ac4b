import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The long runs (`npm run test:chaos`, CHAOS=long) or the short ones `npm test` runs on every change. */
export const LONG = process.env.CHAOS === 'long';

/** Where the long runs leave their figures for `scripts/reliability-report.mjs` to write into docs/RELIABILITY.md. */
export const FIGURES_DIR = join('.chaos', 'figures');

/** A long run's figures, one JSON file per suite; the short runs keep none. */
export async function recordFigures(suite: string, figures: Record<string, unknown>): Promise<void> {
  if (!LONG) return;
  await mkdir(FIGURES_DIR, { recursive: true });
  await writeFile(join(FIGURES_DIR, `${suite}.json`), `${JSON.stringify({ suite, finishedAt: new Date().toISOString(), ...figures }, null, 2)}\n`);
}
