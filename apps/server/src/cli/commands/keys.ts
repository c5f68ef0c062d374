import type { Command } from 'commander';
import { apiKeyScopeSchema } from '@socialpulse/contracts';
import { AppError } from '../../errors.js';
import { insertAuditEntry } from '../../db/repos/audit.repo.js';
import { findApiKeyByPrefixInWorkspace, revokeApiKey } from '../../db/repos/api-keys.repo.js';
import { withTenant } from '../../db/tenant.js';
import { createApiKey } from '../../domain/auth/auth.service.js';
import { withOwnerConnection } from '../../db/pool.js';
import { createSecretBox } from '../../domain/auth/secret-box.js';
import { reencryptSecrets } from '../../domain/auth/key-rotation.js';
import { withDatabase, type DatabaseFlags } from '../context.js';
import { resolveWorkspace } from '../workspaces.js';

interface KeyFlags extends DatabaseFlags {
  workspace: string;
  name?: string;
  scopes?: string;
  expires?: string;
}

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Manage API keys of a workspace (operator commands)');
  keys
    .command('create')
    .description('Create an API key and print it (shown once)')
    .requiredOption('-w, --workspace <name>', 'workspace')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <list>', 'comma-separated: read, write, admin', 'read')
    .option('--expires <iso>', 'expiry instant (ISO 8601)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: KeyFlags) => {
      const scopes = (flags.scopes ?? 'read').split(',').map((s) => s.trim());
      const parsed = scopes.map((s) => apiKeyScopeSchema.safeParse(s));
      if (parsed.some((p) => !p.success))
        throw new AppError(
          'validation_failed',
          `--scopes must be read, write or admin (got "${flags.scopes ?? ''}")`,
        );
      const expiresAt = flags.expires ? new Date(flags.expires) : null;
      if (expiresAt && Number.isNaN(expiresAt.getTime()))
        throw new AppError('validation_failed', `--expires is not a date: ${flags.expires ?? ''}`);
      await withDatabase(flags, async ({ db }) => {
        const workspaceId = await resolveWorkspace(db, flags.workspace);
        const { key, record } = await createApiKey(
          db.pool,
          {
            workspaceId,
            name: flags.name ?? 'cli',
            scopes: [...new Set(parsed.map((p) => p.data as 'read'))],
            expiresAt,
            createdBy: null,
            actor: 'cli',
          },
          { ip: null, userAgent: 'cli', requestId: null },
        );
        process.stdout.write(`${key}\n`);
        process.stderr.write(
          `Created API key ${record.prefix} (${record.scopes.join(', ')}). Store it now: it is not shown again.\n`,
        );
      });
    });

  keys
    .command('revoke')
    .description('Revoke an API key by its prefix (sp_XXXXXXXX) or id')
    .argument('<key>', 'prefix or id')
    .requiredOption('-w, --workspace <name>', 'workspace')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (key: string, flags: KeyFlags) => {
      await withDatabase(flags, async ({ db }) => {
        const workspaceId = await resolveWorkspace(db, flags.workspace);
        await withTenant(db.pool, { workspaceId, userId: null }, async (c) => {
          const found = await findApiKeyByPrefixInWorkspace(c, workspaceId, key);
          if (!found) throw new AppError('not_found', `No API key ${key} in "${flags.workspace}"`);
          await revokeApiKey(c, workspaceId, found.id);
          await insertAuditEntry(c, {
            workspaceId,
            actor: 'cli',
            action: 'api_key.revoked',
            target: found.prefix,
          });
        });
        process.stdout.write(`Revoked ${key}.\n`);
      });
    });

  keys
    .command('rotate-encryption')
    .description(
      'Re-seal every stored secret (platform tokens, TOTP secrets, LLM keys, OAuth clients) under the current ENCRYPTION_KEY; afterwards the old keys can leave ENCRYPTION_KEYS_PREVIOUS',
    )
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (DATA_DIR)')
    .action(async (flags: DatabaseFlags) => {
      await withDatabase(flags, async ({ db, config }) => {
        const box = createSecretBox(db.secrets.encryptionKey, config.auth.previousEncryptionKeys);
        // Across every workspace: the operator's owner connection, not the application's role.
        const report = await withOwnerConnection(db.url, 'socialpulse-rotate', (owner) =>
          reencryptSecrets(owner, box),
        );
        const total = Object.values(report.rotated).reduce((a, b) => a + b, 0);
        for (const [where, n] of Object.entries(report.rotated))
          process.stdout.write(`${where}: ${n} re-sealed\n`);
        process.stdout.write(
          `${total} secret(s) re-sealed under key ${box.currentKeyId}; ${report.current} already were.\n`,
        );
      });
    });
}
