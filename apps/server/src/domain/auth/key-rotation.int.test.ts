/**
 * `socialpulse keys rotate-encryption`: every sealed secret, in every workspace, is re-sealed
 * under the new ENCRYPTION_KEY, so the old key can be dropped; a secret no key opens stops the
 * run with nothing half-done.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  databaseUnavailable,
  type TestDatabase,
} from '../../../test/support/db.js';
import { runCli } from '../../../test/support/server-process.js';
import { createSecretBox, keyIdOf } from './secret-box.js';

const newKey = (): string => randomBytes(32).toString('base64');

describe.skipIf(databaseUnavailable() !== '')('keys rotate-encryption', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'sp-rotate-'));
  const oldKey = newKey();
  const key = newKey();
  const plain: Record<string, string> = {};
  let userId = '';
  let connectionId = '';
  let workspaceId = '';
  let stateHash = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    const old = createSecretBox(oldKey);
    const ws = await db.adminPool.query<{ id: string }>(
      "INSERT INTO workspaces (name) VALUES ('Sealed') RETURNING id",
    );
    workspaceId = ws.rows[0]?.id ?? '';
    const user = await db.adminPool.query<{ id: string }>(
      "INSERT INTO users (email, password_hash) VALUES ('sealed@example.com', 'x') RETURNING id",
    );
    userId = user.rows[0]?.id ?? '';
    plain.totp = 'JBSWY3DPEHPK3PXP';
    await db.adminPool.query(
      'UPDATE users SET mfa_secret_enc = $2, mfa_pending_secret_enc = $3 WHERE id = $1',
      [
        userId,
        old.encrypt(plain.totp, `user:${userId}:totp`),
        old.encrypt('PENDING', `user:${userId}:totp`),
      ],
    );
    const conn = await db.adminPool.query<{ id: string }>(
      "INSERT INTO platform_connections (workspace_id, platform, external_account_id, handle, status) VALUES ($1, 'x', 'r-1', 'sealed', 'active') RETURNING id",
      [workspaceId],
    );
    connectionId = conn.rows[0]?.id ?? '';
    plain.credentials = JSON.stringify({ accessToken: 'platform-token' });
    await db.adminPool.query(
      'UPDATE platform_connections SET credentials_sealed = $2 WHERE id = $1',
      [connectionId, old.encrypt(plain.credentials, `platform_connection:${connectionId}`)],
    );
    plain.llm = 'sk-llm-key';
    await db.adminPool.query(
      'INSERT INTO workspace_analysis_settings (workspace_id, llm_api_key_sealed) VALUES ($1, $2)',
      [workspaceId, old.encrypt(plain.llm, `llm_api_key:${workspaceId}`)],
    );
    plain.client = 'mastodon-client-secret';
    await db.adminPool.query(
      "INSERT INTO oauth_clients (platform, instance, redirect_uri, client_id, client_secret_sealed) VALUES ('mastodon', 'social.example', 'https://sp/cb', 'cid', $1)",
      [old.encrypt(plain.client, 'oauth_client:mastodon:social.example')],
    );
    stateHash = randomBytes(32).toString('hex');
    plain.verifier = 'pkce-verifier';
    await db.adminPool.query(
      "INSERT INTO oauth_states (state_hash, workspace_id, platform, code_verifier_sealed, redirect_uri, expires_at) VALUES (decode($1, 'hex'), $2, 'x', $3, 'https://sp/cb', now() + interval '10 minutes')",
      [stateHash, workspaceId, old.encrypt(plain.verifier, `oauth_state:${stateHash}`)],
    );
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>): Record<string, string> => ({
    DATABASE_URL: db.url,
    DATA_DIR: dir,
    LOG_LEVEL: 'silent',
    ...extra,
  });

  it('refuses when the old key is not configured, changing nothing', async () => {
    const refused = await runCli(['keys', 'rotate-encryption'], env({ ENCRYPTION_KEY: key }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/users\.mfa_secret_enc of row .*not configured/);
    const { rows } = await db.adminPool.query<{ s: string }>(
      'SELECT mfa_secret_enc AS s FROM users WHERE id = $1',
      [userId],
    );
    expect(rows[0]?.s.split('.')[1]).toBe(keyIdOf(Buffer.from(oldKey, 'base64')));
  });

  it('re-seals every secret under the new key, which then opens them alone; a second run has nothing to do', async () => {
    const run = await runCli(
      ['keys', 'rotate-encryption'],
      env({ ENCRYPTION_KEY: key, ENCRYPTION_KEYS_PREVIOUS: oldKey }),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('6 secret(s) re-sealed');

    const box = createSecretBox(key); // no previous key: only the new one
    const q = async (sql: string, params: unknown[]): Promise<string> =>
      (await db.adminPool.query<{ s: string }>(sql, params)).rows[0]?.s ?? '';
    expect(
      box.decrypt(
        await q('SELECT mfa_secret_enc AS s FROM users WHERE id = $1', [userId]),
        `user:${userId}:totp`,
      ),
    ).toBe(plain.totp);
    expect(
      box.decrypt(
        await q('SELECT mfa_pending_secret_enc AS s FROM users WHERE id = $1', [userId]),
        `user:${userId}:totp`,
      ),
    ).toBe('PENDING');
    expect(
      box.decrypt(
        await q('SELECT credentials_sealed AS s FROM platform_connections WHERE id = $1', [
          connectionId,
        ]),
        `platform_connection:${connectionId}`,
      ),
    ).toBe(plain.credentials);
    expect(
      box.decrypt(
        await q(
          'SELECT llm_api_key_sealed AS s FROM workspace_analysis_settings WHERE workspace_id = $1',
          [workspaceId],
        ),
        `llm_api_key:${workspaceId}`,
      ),
    ).toBe(plain.llm);
    expect(
      box.decrypt(
        await q(
          "SELECT client_secret_sealed AS s FROM oauth_clients WHERE instance = 'social.example'",
          [],
        ),
        'oauth_client:mastodon:social.example',
      ),
    ).toBe(plain.client);
    expect(
      box.decrypt(
        await q(
          "SELECT code_verifier_sealed AS s FROM oauth_states WHERE state_hash = decode($1, 'hex')",
          [stateHash],
        ),
        `oauth_state:${stateHash}`,
      ),
    ).toBe(plain.verifier);

    const again = await runCli(['keys', 'rotate-encryption'], env({ ENCRYPTION_KEY: key }));
    expect(again.stdout).toContain('0 secret(s) re-sealed');
    const audit = await q(
      "SELECT details::text AS s FROM audit_log WHERE action = 'secrets.rotated' ORDER BY id LIMIT 1",
      [],
    );
    expect(audit).toContain('platform_connections.credentials_sealed');
    expect(audit).not.toContain('platform-token');
  });
});
