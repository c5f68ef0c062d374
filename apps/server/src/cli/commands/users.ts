import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { createAppDeps } from '../../api/deps.js';
import { findUserByEmail, listUsers } from '../../db/repos/users.repo.js';
import { assertValidEmail, resetMfa, signUp } from '../../domain/auth/auth.service.js';
import { withDatabase, type DatabaseFlags } from '../context.js';

async function readStdin(): Promise<string> {
  let data = '';
  for await (const chunk of process.stdin) data += String(chunk);
  return data.replace(/\r?\n$/, '');
}

interface CreateFlags extends DatabaseFlags {
  email: string;
  name?: string;
  admin: boolean;
  passwordStdin: boolean;
}

export function registerUsersCommand(program: Command): void {
  const users = program
    .command('users')
    .description('Manage accounts (operator commands: no sign-in needed)');
  users
    .command('create')
    .description('Create an account; the password is read from stdin')
    .requiredOption('--email <email>', 'the account email')
    .option('--name <name>', 'display name')
    .option('--admin', 'make it an instance admin (it adopts workspaces without an owner)', false)
    .option(
      '--password-stdin',
      'read the password from standard input (required: never pass it as an argument)',
      false,
    )
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: CreateFlags) => {
      if (!flags.passwordStdin)
        throw new AppError(
          'validation_failed',
          'Pass --password-stdin and send the password on standard input (arguments end up in shell history)',
        );
      // Before the password is read: a script piping one in learns of the bad address at once.
      assertValidEmail(flags.email.trim());
      const password = await readStdin();
      await withDatabase(flags, async ({ config, db, logger }) => {
        const deps = createAppDeps(config, db, null, logger);
        const user = await signUp(
          deps.auth,
          { email: flags.email, password, displayName: flags.name },
          { ip: null, userAgent: 'cli', requestId: null },
          { viaAdmin: true, makeAdmin: flags.admin },
        );
        process.stdout.write(
          `Created ${user.email} (${user.id})${user.isInstanceAdmin ? ' as instance admin' : ''}.\n`,
        );
      });
    });

  users
    .command('list')
    .description('List accounts')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: DatabaseFlags) => {
      await withDatabase(flags, async ({ db }) => {
        for (const u of await listUsers(db.pool)) {
          process.stdout.write(
            `${u.id}\t${u.email}\t${u.isInstanceAdmin ? 'admin' : 'user'}\tmfa=${u.mfaEnabledAt ? 'on' : 'off'}\t${u.createdAt.toISOString()}\n`,
          );
        }
      });
    });

  users
    .command('reset-mfa')
    .description(
      'Turn off two-factor authentication of an account that lost its device (ends its sessions)',
    )
    .argument('<email>', 'the account email')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (email: string, flags: DatabaseFlags) => {
      await withDatabase(flags, async ({ db }) => {
        const user = await findUserByEmail(db.pool, email);
        if (!user) throw new AppError('not_found', `No account with the email ${email}`);
        await resetMfa({ pool: db.pool }, user.id, 'cli');
        process.stdout.write(
          `Two-factor authentication of ${user.email} is off; the user must enrol again.\n`,
        );
      });
    });
}
