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

/**
 * `npm exec` with the `node` package at NODE_22 first on the PATH. Through npm's own script when
 * run by npm (no shell needed for npm.cmd on Windows), else `npm` from the PATH.
 */
function onNode22(args: string[]): ReturnType<typeof spawnSync> {
  const npmCli = process.env.npm_execpath;
  const exec = ['exec', '--yes', `--package=node@${NODE_22}`, '--', 'node', ...args];
  return npmCli
    ? spawnSync(process.execPath, [npmCli, ...exec], { stdio: 'inherit' })
    : spawnSync('npm', exec, { stdio: 'inherit', shell: process.platform === 'win32' });
}

// The package brings its binary with an install script; where that did not run, `node` would be
// the PATH's own, and the pass would not be on Node 22 at all.
const check = onNode22([
  '-e',
  `process.exit(process.versions.node === '${NODE_22}' ? 0 : (console.error('npm exec ran Node ' + process.versions.node + ', not ${NODE_22}'), 1))`,
]);
if (check.error || check.status !== 0) {
  console.error(
    `Node ${NODE_22} pass could not start Node ${NODE_22}${check.error ? `: ${check.error.message}` : ''}.`,
  );
  process.exit(1);
}

console.log(`\nNode ${NODE_22} pass: the unit and integration tests again, on Node ${NODE_22}.`);
const run = onNode22(['node_modules/vitest/vitest.mjs', 'run']);
if (run.error) console.error(`Node ${NODE_22} pass could not start: ${run.error.message}`);
process.exit(run.status ?? 1);
