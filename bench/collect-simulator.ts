/**
 * The platform simulator in its own process for `bench:collect`, so that the benchmark's RSS is
 * the collector's alone. Options: JSON `SimulatorOptions` in BENCH_SIM_OPTIONS. Prints one JSON
 * line on stdout when listening (base URLs, accounts, apps, limits), then answers one JSON line per
 * command line on stdin: `stats` (stats, window history, memory), `reset` (resets stats),
 * `truth` (post ids per account), `quit`.
 */
import { createInterface } from 'node:readline';
import {
  PLATFORMS,
  startSimulator,
  type SimulatorOptions,
} from '../apps/server/test/simulator/index.js';

const options = JSON.parse(process.env.BENCH_SIM_OPTIONS ?? '{}') as SimulatorOptions;
const sim = await startSimulator(options);
const out = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
out({
  origin: sim.origin,
  baseUrls: sim.baseUrls,
  accounts: sim.accounts,
  apps: sim.apps,
  limits: Object.fromEntries(PLATFORMS.map((p) => [p, sim.limits(p)])),
});

for await (const line of createInterface({ input: process.stdin })) {
  const command = line.trim();
  if (command === 'stats') {
    out({
      stats: sim.stats,
      windows: sim.windowHistory(),
      now: Date.now(),
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      rssBytes: process.memoryUsage().rss,
    });
  } else if (command === 'reset') {
    sim.resetStats();
    out({ ok: true });
  } else if (command === 'truth') {
    out(
      Object.fromEntries(
        PLATFORMS.map((p) => [
          p,
          Object.fromEntries(sim.accounts[p].map((a) => [a.id, sim.postIds(p, a.id)])),
        ]),
      ),
    );
  } else if (command === 'quit') {
    break;
  }
}
await sim.close();
process.exit(0);
