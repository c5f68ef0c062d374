#!/usr/bin/env -S node --heap-growing-percent=20
/**
 * The `socialpulse` command line: one verb per file in commands/.
 *
 * The node flag above is part of how SocialPulse runs (`npm start` and `npm run socialpulse`
 * pass the same one; a test checks that they agree): a worker allocates fast and keeps little
 * (its live heap stays near 100 MB), and V8's default heap growth let its RSS climb past 400 MB
 * over a 100,000-post analysis; growing the heap by 20% at a time holds it under 256 MB for ~10%
 * more CPU (bench/README.md, "Analysis jobs"). Only the command line can set it: NODE_OPTIONS
 * refuses it, and v8.setFlagsFromString once the process runs has no effect.
 */
import { Command } from 'commander';
import { loadDotEnv } from '../config.js';
import { registerCommands } from './commands/index.js';
import { reportFatal } from './output.js';

try {
  loadDotEnv('.env');
} catch (error) {
  reportFatal(error);
}

const program = new Command()
  .name('socialpulse')
  .description('Self-hostable social media analytics')
  .showHelpAfterError()
  .version('0.1.0');

registerCommands(program, process.argv.slice(2))
  .then(() => program.parseAsync(process.argv))
  .catch(reportFatal);
