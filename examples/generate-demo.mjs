// Generates examples/demo-posts.jsonl: a synthetic, seeded, reproducible sample of posts.
// Run: node examples/generate-demo.mjs [count] > examples/demo-posts.jsonl
// Engagement is heavy-tailed (log-normal reach, Pareto-like virality) and posting times and
// reach follow a daily rhythm, so charts built on it look like real accounts'.

/** mulberry32: a tiny seeded PRNG, so the file is identical on every run. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = mulberry32(20261123);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const pick = (items) => items[Math.floor(rand() * items.length)];

const accounts = [
  { platform: 'x', handle: 'acme_coffee', followers: 42000, media: ['text', 'image', 'video'] },
  {
    platform: 'instagram',
    handle: 'acme.coffee',
    followers: 128000,
    media: ['image', 'carousel', 'reel', 'story'],
  },
  { platform: 'youtube', handle: 'AcmeCoffeeTV', followers: 56000, media: ['video', 'short'] },
  { platform: 'tiktok', handle: 'acmecoffee', followers: 310000, media: ['video'] },
  {
    platform: 'bluesky',
    handle: 'acmecoffee.bsky.social',
    followers: 6400,
    media: ['text', 'image'],
  },
  {
    platform: 'mastodon',
    handle: 'acme@mastodon.social',
    followers: 2100,
    media: ['text', 'image'],
  },
  {
    platform: 'reddit',
    handle: 'acme_coffee_official',
    followers: 9000,
    media: ['text', 'link', 'image'],
  },
];

const openings = [
  'New',
  'Meet our',
  'Behind the scenes:',
  'Weekend special:',
  'Poll:',
  'Thank you for',
  'Sneak peek at',
  'How we roast',
  'Customer story:',
  'Tips for',
];
const subjects = [
  'the autumn blend',
  'cold brew season',
  'our Ethiopian single origin',
  'latte art',
  'the new Berlin café',
  'oat milk flat whites',
  'the barista championship',
  'compostable cups',
  'home espresso',
  'our roasting team',
];
const endings = [
  '☕',
  'Tell us what you think!',
  'Link in bio.',
  '🔥🔥',
  'Which one is your favourite?',
  'Not happy with the delays this week, we are fixing it.',
  'Sorry for the app outage yesterday.',
  'Love you all ❤️',
  '',
  '#coffee #specialtycoffee',
];
const languages = ['en']; // The generated texts are English.

// Posting hour weights: quiet at night, peaks at 8–9, 12–13 and 18–20 (UTC).
const hourWeights = [
  1, 0.5, 0.3, 0.3, 0.4, 0.8, 1.5, 3, 5, 5, 3.5, 3, 4.5, 4, 3, 2.8, 3, 3.5, 5, 5.5, 4.5, 3, 2, 1.5,
];
const hourTotal = hourWeights.reduce((a, b) => a + b, 0);
function sampleHour() {
  let r = rand() * hourTotal;
  for (let h = 0; h < 24; h += 1) {
    r -= hourWeights[h];
    if (r <= 0) return h;
  }
  return 23;
}

const count = Number(process.argv[2] ?? 1500);
const end = Date.UTC(2026, 10, 1);
const days = 180;
const lines = [];
for (let i = 0; i < count; i += 1) {
  const account = pick(accounts);
  const day = Math.floor(rand() * days);
  const hour = sampleHour();
  const created = new Date(
    end - (days - day) * 86_400_000 + hour * 3_600_000 + Math.floor(rand() * 3_600_000),
  );
  const weekend = created.getUTCDay() === 0 || created.getUTCDay() === 6;
  // Reach: log-normal around 8% of followers, better at peak hours, with rare viral hits.
  const rhythm = hourWeights[hour] / 5;
  const viral = rand() < 0.02 ? 5 + rand() * 40 : 1;
  const views = Math.round(
    account.followers *
      0.08 *
      Math.exp(0.9 * gaussian()) *
      (0.5 + rhythm) *
      (weekend ? 1.15 : 1) *
      viral,
  );
  const rate = Math.min(0.25, Math.max(0.002, 0.035 * Math.exp(0.5 * gaussian())));
  const likes = Math.round(views * rate);
  const comments = Math.round(likes * (0.02 + rand() * 0.06));
  const shares = Math.round(likes * (0.01 + rand() * 0.08));
  const saves =
    account.platform === 'instagram' || account.platform === 'tiktok'
      ? Math.round(likes * (0.03 + rand() * 0.1))
      : null;
  const external = `${account.platform}-${(1_000_000 + i).toString(36)}`;
  lines.push(
    JSON.stringify({
      platform: account.platform,
      external_id: external,
      created_at: created.toISOString(),
      account_handle: account.handle,
      author: account.handle,
      text: `${pick(openings)} ${pick(subjects)}. ${pick(endings)}`.trim(),
      language: pick(languages),
      url: `https://example.com/${account.platform}/${external}`,
      media_type: pick(account.media),
      likes,
      comments,
      shares,
      views: account.platform === 'reddit' ? null : views,
      saves,
      impressions:
        account.platform === 'x' || account.platform === 'instagram'
          ? Math.round(views * (1.2 + rand() * 0.6))
          : null,
      metrics_captured_at: new Date(end).toISOString(),
      synthetic: true,
    }),
  );
}
lines.sort();
process.stdout.write(lines.join('\n') + '\n');
