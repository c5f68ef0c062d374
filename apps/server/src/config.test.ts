import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { commandLineDirectory, loadConfig } from './config.js';
import { DEFAULT_ARCHIVE_LIMITS } from './domain/imports/zip-archive.js';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      database: { url: undefined, poolMax: 10 },
      redisUrl: undefined,
      demoWorkspace: true,
    });
    expect(config.dataDir).toMatch(/\.data$/);
    expect(config.api.drainMs).toBe(8000);
    expect(loadConfig({}, { SHUTDOWN_DRAIN_SECONDS: '0.5' }).api.drainMs).toBe(500);
  });

  it('reports every problem at once and hides secret values', () => {
    let error: unknown;
    try {
      loadConfig(
        {},
        {
          PORT: 'eighty',
          DATABASE_URL: 'mysql://u:secret@h/db',
          MFA_REQUIRED_ROLES: 'root',
          DEMO_WORKSPACE: 'maybe',
          ENCRYPTION_KEY: 'short',
          LLM_TRUSTED_ORIGINS: 'http://192.168.1.20:11434, ollama.lan',
          LLM_BASE_URL: 'https://me:secret@llm.example.com/v1',
        },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    const problems = ((error as AppError).details as { problems: string[] }).problems;
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining([
        'PORT',
        'DATABASE_URL',
        'MFA_REQUIRED_ROLES',
        'DEMO_WORKSPACE',
        'ENCRYPTION_KEY',
        'LLM_TRUSTED_ORIGINS',
        'LLM_BASE_URL',
      ]),
    );
    expect(problems).toHaveLength(7);
    expect((error as AppError).message).not.toContain('secret');
    expect(problems.find((p) => p.startsWith('PORT'))).toContain('(got "eighty")');
    expect(problems.find((p) => p.startsWith('LLM_BASE_URL'))).toBe(
      'LLM_BASE_URL: must not contain a user name or password; give the key as LLM_API_KEY (got "https://***@llm.example.com/v1")',
    );
  });

  it('reads comma-separated lists trimmed, empty entries dropped', () => {
    const config = loadConfig(
      {},
      { LLM_TRUSTED_ORIGINS: ' http://192.168.1.20:11434 ,,https://llm.lan ', CORS_ORIGINS: '' },
    );
    expect(config.llm.trustedOrigins).toEqual(['http://192.168.1.20:11434', 'https://llm.lan']);
    expect(config.api.corsOrigins).toEqual([]);
  });

  it('treats empty variables as unset and lets overrides win', () => {
    const config = loadConfig({ PORT: '9000' }, { PORT: '7000', REDIS_URL: '' });
    expect(config.port).toBe(9000);
    expect(config.redisUrl).toBeUndefined();
  });

  it('takes PORT only in decimal digits, naming the variable and value otherwise', () => {
    expect(loadConfig({}, { PORT: '0' }).port).toBe(0);
    expect(loadConfig({}, { PORT: '65535' }).port).toBe(65535);
    for (const value of [' ', '0x1F90', '8080.0', '1e3', '-1', '+80', '65536']) {
      let error: unknown;
      try {
        loadConfig({}, { PORT: value });
      } catch (e) {
        error = e;
      }
      expect(error, value).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('config_invalid');
      expect((error as AppError).details).toEqual({
        problems: [expect.stringMatching(new RegExp(`^PORT: .*\\(got "${escape(value)}"\\)$`))],
      });
    }
  });

  it('reports DATABASE_APP_URL without DATABASE_URL together with the other problems', () => {
    let error: unknown;
    try {
      loadConfig({}, { DATABASE_APP_URL: 'postgres://app:secret@db/sp', PORT: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('config_invalid');
    const problems = ((error as AppError).details as { problems: string[] }).problems;
    expect(problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'DATABASE_APP_URL']);
    expect(problems[1]).toMatch(/set without DATABASE_URL/);
    expect((error as AppError).message).not.toContain('secret');
    // Alone it is reported too, and with DATABASE_URL it is fine.
    expect(() => loadConfig({}, { DATABASE_APP_URL: 'postgres://app@db/sp' })).toThrow(
      /DATABASE_APP_URL: is set without DATABASE_URL/,
    );
    expect(
      loadConfig(
        { DATABASE_URL: 'postgres://owner@db/sp' },
        { DATABASE_APP_URL: 'postgres://app@db/sp' },
      ).database.appUrl,
    ).toBe('postgres://app@db/sp');
  });

  it('gives PUBLIC_URL without its trailing slash to every user', () => {
    expect(loadConfig({}, { PUBLIC_URL: 'http://127.0.0.1:18095/' }).api.publicUrl).toBe(
      'http://127.0.0.1:18095',
    );
    expect(loadConfig({}, { PUBLIC_URL: 'https://example.com/sp//' }).api.publicUrl).toBe(
      'https://example.com/sp',
    );
    expect(loadConfig({}, { PUBLIC_URL: 'https://example.com' }).api.publicUrl).toBe(
      'https://example.com',
    );
  });

  it('bounds zip imports by default as the domain does, and takes the limits from the environment', () => {
    const defaults = loadConfig({}, {}).import;
    expect({
      maxInflatedBytes: defaults.maxInflatedBytes,
      maxArchiveEntries: defaults.maxArchiveEntries,
      maxCompressionRatio: defaults.maxCompressionRatio,
    }).toEqual(DEFAULT_ARCHIVE_LIMITS);
    expect(
      loadConfig(
        {},
        {
          IMPORT_MAX_INFLATED_BYTES: '1048576',
          IMPORT_MAX_ARCHIVE_ENTRIES: '50',
          IMPORT_MAX_COMPRESSION_RATIO: '20',
        },
      ).import,
    ).toMatchObject({ maxInflatedBytes: 1048576, maxArchiveEntries: 50, maxCompressionRatio: 20 });
    expect(() =>
      loadConfig({}, { IMPORT_MAX_COMPRESSION_RATIO: '1', IMPORT_MAX_ARCHIVE_ENTRIES: '0' }),
    ).toThrow(/IMPORT_MAX_ARCHIVE_ENTRIES: .*\n.*IMPORT_MAX_COMPRESSION_RATIO: /s);
  });
});

describe('commandLineDirectory', () => {
  it('is where `npm run socialpulse` was typed (INIT_CWD), not the root npm runs it in', () => {
    expect(
      commandLineDirectory({ INIT_CWD: '/home/me/apps', npm_lifecycle_event: 'socialpulse' }),
    ).toBe('/home/me/apps');
  });

  it('is the working directory otherwise, INIT_CWD inherited from another npm script included', () => {
    expect(commandLineDirectory({})).toBe(process.cwd());
    expect(commandLineDirectory({ INIT_CWD: '/home/me', npm_lifecycle_event: 'test' })).toBe(
      process.cwd(),
    );
    expect(commandLineDirectory({ INIT_CWD: '', npm_lifecycle_event: 'socialpulse' })).toBe(
      process.cwd(),
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
