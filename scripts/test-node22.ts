/**
 * Runs the tests a second time on Node 22: the project supports Node 20 and 22, and some of its
 * dependencies (pg-boss, cookie, content-disposition) declare Node 22 while the machines run 20.
 * Node 22 comes from the npm registry (the `node` package at an exact version, cached by npm
 * after the first run), so no system install is needed.
 *
 * `npm test` runs this pass in CI only (CI=true), where a second run costs minutes once per
 * change; elsewhere `npm run test:node22` runs it on demand. Skipped when this already is Node 22.
 */
import { spawnSync } from 'node:child_process';

const NODE_22 = '22.23.3';

const onDemand = process.argv.includes('--always');
if (!onDemand && process.env.CI !== 'true') {
  console.log(`Node ${NODE_22} pass: only in CI (CI=true); \`npm run test:node22\` runs it here.`);
  process.exit(0);
}
if (process.versions.node.split('.')[0] === '22') {
  console.log(`Node ${NODE_22} pass: skipped, the tests above already ran on Node 22.`);
  process.exit(0);
}

console.log(`\nNode ${NODE_22} pass: the unit and integration tests again, on Node ${NODE_22}.`);
const run = spawnSync(
  'npm',
  [
    'exec',
    '--yes',
    `--package=node@${NODE_22}`,
    '--',
    'node',
    'node_modules/vitest/vitest.mjs',
    'run',
  ],
  { stdio: 'inherit', env: process.env },
);
if (run.error) console.error(`Node ${NODE_22} pass could not start: ${run.error.message}`);
process.exit(run.status ?? 1);
