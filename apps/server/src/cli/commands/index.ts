import type { Command } from 'commander';
import { registerDoctorCommand } from './doctor.js';
import { registerExportCommand } from './export.js';
import { registerImportCommand } from './import.js';
import { registerMigrateCommand } from './migrate.js';
import { registerServeCommand } from './serve.js';

/** Every CLI verb registers itself here, in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerImportCommand(program);
  registerExportCommand(program);
  registerDoctorCommand(program);
}
