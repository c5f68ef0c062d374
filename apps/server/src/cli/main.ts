#!/usr/bin/env node
/** The `socialpulse` command line: one verb per file in commands/. */
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { reportFatal } from './output.js';

const program = new Command()
  .name('socialpulse')
  .description('Self-hostable social media analytics')
  .showHelpAfterError()
  .version('0.1.0');

registerCommands(program);

program.parseAsync(process.argv).catch(reportFatal);
