import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every CLI verb, in the order `--help` lists them. Loaded on demand: each verb's module pulls in
 * its own stack (the HTTP API's schemas, importers, connectors, the job queue), and a long-running
 * `serve --services worker` would otherwise keep all of them resident (~40 MB of RSS).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.js')).registerServeCommand,
  migrate: async () => (await import('./migrate.js')).registerMigrateCommand,
  import: async () => (await import('./import.js')).registerImportCommand,
  export: async () => (await import('./export.js')).registerExportCommand,
  analyze: async () => (await import('./analyze.js')).registerAnalyzeCommand,
  analyses: async () => (await import('./analyses.js')).registerAnalysesCommand,
  connectors: async () => (await import('./connectors.js')).registerConnectorsCommand,
  users: async () => (await import('./users.js')).registerUsersCommand,
  keys: async () => (await import('./keys.js')).registerKeysCommand,
  sync: async () => (await import('./sync.js')).registerSyncCommand,
  dlq: async () => (await import('./dlq.js')).registerDlqCommand,
  doctor: async () => (await import('./doctor.js')).registerDoctorCommand,
};

/**
 * Registers the verb `args` names (the arguments after the program name), or every verb when
 * they name none (`--help`, a typo: commander then lists them all or suggests one).
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const verb = args[0];
  const only = verb !== undefined && Object.hasOwn(COMMANDS, verb) ? [verb] : Object.keys(COMMANDS);
  for (const register of await Promise.all(only.map((name) => COMMANDS[name]!())))
    register(program);
}
