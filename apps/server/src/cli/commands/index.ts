import type { Command } from 'commander';
import { registerAnalysesCommand } from './analyses.js';
import { registerAnalyzeCommand } from './analyze.js';
import { registerConnectorsCommand } from './connectors.js';
import { registerDoctorCommand } from './doctor.js';
import { registerDlqCommand } from './dlq.js';
import { registerSyncCommand } from './sync.js';
import { registerExportCommand } from './export.js';
import { registerImportCommand } from './import.js';
import { registerKeysCommand } from './keys.js';
import { registerMigrateCommand } from './migrate.js';
import { registerServeCommand } from './serve.js';
import { registerUsersCommand } from './users.js';

/** Every CLI verb registers itself here, in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerImportCommand(program);
  registerExportCommand(program);
  registerAnalyzeCommand(program);
  registerAnalysesCommand(program);
  registerConnectorsCommand(program);
  registerUsersCommand(program);
  registerKeysCommand(program);
  registerSyncCommand(program);
  registerDlqCommand(program);
  registerDoctorCommand(program);
}
