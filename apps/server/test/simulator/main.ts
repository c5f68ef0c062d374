/**
 * `npm run simulate [-- --port 4010 --seed 1 --accounts 2 --posts 30 --ttl 3600]`: starts the
 * platform simulator, prints its base URLs and generated accounts and tokens, runs until Ctrl+C.
 */
import { parseArgs } from 'node:util';
import { PLATFORMS, startSimulator } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    seed: { type: 'string' },
    accounts: { type: 'string' },
    posts: { type: 'string' },
    ttl: { type: 'string' },
    'limit-scale': { type: 'string' },
  },
});

const number = (value: string | undefined, fallback: number): number =>
  value === undefined ? fallback : Number(value);
const accountsPerPlatform = number(values.accounts, 2);
const sim = await startSimulator({
  port: number(values.port ?? process.env.SIMULATOR_PORT, 4010),
  host: values.host ?? '127.0.0.1',
  seed: number(values.seed, 1),
  accounts: Object.fromEntries(PLATFORMS.map((p) => [p, accountsPerPlatform])),
  postsPerAccount: number(values.posts, 30),
  ...(values.ttl === undefined ? {} : { tokenTtlSeconds: Number(values.ttl) }),
  ...(values['limit-scale'] === undefined ? {} : { limitScale: Number(values['limit-scale']) }),
});

const out: string[] = [`Platform simulator listening on ${sim.origin}`, ''];
for (const platform of PLATFORMS) {
  const app = sim.apps[platform];
  out.push(`${platform.padEnd(9)} ${sim.url(platform)}`);
  out.push(
    `  app: client_id=${app.clientId} client_secret=${app.clientSecret}${app.appToken === undefined ? '' : ` app_token=${app.appToken}`}`,
  );
  for (const account of sim.accounts[platform]) {
    const extra = [
      account.refreshToken === undefined ? '' : `refresh=${account.refreshToken}`,
      account.password === undefined ? '' : `password=${account.password}`,
      account.uploadsPlaylistId === undefined ? '' : `uploads=${account.uploadsPlaylistId}`,
    ].filter((s) => s !== '');
    out.push(
      `  ${account.handle} id=${account.id} posts=${account.postCount} access=${account.accessToken} ${extra.join(' ')}`.trimEnd(),
    );
  }
}
out.push('', 'Ctrl+C to stop.');
process.stdout.write(`${out.join('\n')}\n`);

const stop = (): void => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
