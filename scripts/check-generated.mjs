// Fails when a generated types file is not what `npm run generate` makes of its spec today.
// With no arguments it checks every pair below; `check-generated.mjs SPEC FILE` checks one.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PAIRS = [
  ['openapi/v1.yaml', 'src/generated/v1.ts'],
  ['openapi/v2.yaml', 'src/generated/v2.ts'],
  ['openapi/v1.yaml', 'sdk/src/generated/v1.ts'],
];

const pairs = process.argv.length > 2 ? [process.argv.slice(2, 4)] : PAIRS;
const dir = mkdtempSync(join(tmpdir(), 'idempay-generated-'));
let stale = 0;
try {
  for (const [spec, generated] of pairs) {
    const fresh = join(dir, 'fresh.ts');
    execFileSync('node_modules/.bin/openapi-typescript', [spec, '-o', fresh], { stdio: 'pipe' });
    if (!existsSync(generated) || readFileSync(fresh, 'utf8') !== readFileSync(generated, 'utf8')) {
      console.error(`${generated} is stale against ${spec}: run \`npm run generate\` and commit the result.`);
      stale++;
    } else {
      console.log(`${generated} matches ${spec}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(stale ? 1 : 0);
