import lexicons from './data/vader-lexicons.json' with { type: 'json' };
import { createVader, type Vader, type VaderLexiconText } from './vader.js';

/** The VADER lexicons shipped with SocialPulse (MIT, see data/LICENSE.txt and data/README.md). */
export const vaderLexicons: VaderLexiconText = lexicons;

let shared: Vader | undefined;

/** One VADER instance over the shipped lexicons, built on first use (parsing takes ~10 ms). */
export function getVader(): Vader {
  shared ??= createVader(vaderLexicons);
  return shared;
}
