import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { loadConfig } from './config.js';

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
      ]),
    );
    expect(problems).toHaveLength(6);
    expect((error as AppError).message).not.toContain('secret');
    expect(problems.find((p) => p.startsWith('PORT'))).toContain('(got "eighty")');
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
});
