#!/usr/bin/env node
/** The `socialpulse` command line: one verb per file in commands/. */
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
