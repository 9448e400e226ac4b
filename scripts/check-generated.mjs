// Fails when src/generated/v1.ts is not what `npm run generate` makes of openapi/v1.yaml today.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'idempay-generated-'));
try {
  const fresh = join(dir, 'v1.ts');
  execFileSync('node_modules/.bin/openapi-typescript', ['openapi/v1.yaml', '-o', fresh], { stdio: 'pipe' });
  if (readFileSync(fresh, 'utf8') !== readFileSync('src/generated/v1.ts', 'utf8')) {
    console.error('src/generated/v1.ts is stale: run `npm run generate` and commit the result.');
    process.exit(1);
  }
  console.log('src/generated/v1.ts matches openapi/v1.yaml');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
