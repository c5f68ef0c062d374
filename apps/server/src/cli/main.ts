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
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { reportFatal } from './output.js';

// A .env file in the working directory is read like the environment (see .env.example);
// variables already set in the environment win.
if (existsSync('.env')) process.loadEnvFile('.env');

const program = new Command()
  .name('socialpulse')
  .description('Self-hostable social media analytics')
  .showHelpAfterError()
  .version('0.1.0');

registerCommands(program, process.argv.slice(2))
  .then(() => program.parseAsync(process.argv))
  .catch(reportFatal);
