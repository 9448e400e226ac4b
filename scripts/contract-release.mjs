// `node scripts/contract-release.mjs [spec]`: the spec (openapi/v1.yaml) becomes the released
// contract, openapi/released/<name>, the baseline scripts/contract-check.mjs compares against.
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [spec = join(root, 'openapi/v1.yaml')] = process.argv.slice(2);
const releasedDir = join(root, 'openapi/released');
mkdirSync(releasedDir, { recursive: true });
copyFileSync(spec, join(releasedDir, basename(spec)));
console.log(`released ${relative(process.cwd(), spec)} as ${relative(process.cwd(), join(releasedDir, basename(spec)))}`);
