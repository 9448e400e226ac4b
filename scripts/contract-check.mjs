// The breaking-change gate: `node scripts/contract-check.mjs [released] [current]` fails when the
// current contract would break a client of the released one. Optic judges, offline, with the rulesets
// in optic.yml (its stock breaking-changes rules and ours in scripts/optic-contract-rules.js).
import { spawnSync } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [released, current] = [
  process.argv[2] ?? join(root, 'openapi/released/v1.yaml'),
  process.argv[3] ?? join(root, 'openapi/v1.yaml'),
].map((path) => relative(process.cwd(), resolve(path)));

const env = { ...process.env, OPTIC_TELEMETRY_LEVEL: 'off', NO_UPDATE_NOTIFIER: '1' };
// Under CI=true optic writes ci-run-details.json into its working folder, the repository.
delete env.CI;
const optic = spawnSync(
  join(root, 'node_modules/.bin/optic'),
  ['diff', resolve(released), resolve(current), '--check', '--standard', join(root, 'optic.yml')],
  // From the root, where optic resolves the local ruleset named in optic.yml.
  { cwd: root, env, encoding: 'utf8' },
);
if (optic.error) throw optic.error;

const report = `${optic.stdout}${optic.stderr}`;
// The hint points at optic's hosted web view, which this offline gate never uses.
process.stdout.write(report.replace(/^.*--web flag.*\n/m, ''));

// Optic only warns when a ruleset fails to load and then checks without it: that must not pass.
const rulesetNotLoaded = /Constructing ruleset .* failed|Ruleset .* (does not exist|had configuration errors)|rules are not supported/;
if (rulesetNotLoaded.test(report)) {
  console.error('contract check: a ruleset in optic.yml did not load, so the check is incomplete.');
  process.exit(2);
}
if (optic.status !== 0) {
  console.error(`contract check: ${current} breaks clients of ${released} (see above).`);
  process.exit(1);
}
console.log(`contract check: ${current} is compatible with ${released}.`);
