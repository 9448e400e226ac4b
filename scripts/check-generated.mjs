// Fails when src/generated/v1.ts (or the file named) is not what `npm run generate` makes of openapi/v1.yaml today.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [spec = 'openapi/v1.yaml', generated = 'src/generated/v1.ts'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'idempay-generated-'));
try {
  const fresh = join(dir, 'v1.ts');
  execFileSync('node_modules/.bin/openapi-typescript', [spec, '-o', fresh], { stdio: 'pipe' });
  if (readFileSync(fresh, 'utf8') !== readFileSync(generated, 'utf8')) {
    console.error(`${generated} is stale: run \`npm run generate\` and commit the result.`);
    process.exit(1);
  }
  console.log(`${generated} matches ${spec}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
