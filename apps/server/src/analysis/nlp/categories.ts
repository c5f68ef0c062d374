/**
 * User-defined categories: each rule lists keywords (words or phrases of up to 5 words) and
 * hashtags; a post is in a category when any of them occurs. Rules compile into one map from
 * term to categories, so matching is one lookup per word n-gram, whatever the number of rules.
 */
import { squashElongation, type Token } from './tokenize.js';

export interface CategoryRule {
  /** Stable id or name reported in results. */
  id: string;
  keywords?: readonly string[];
  /** With or without '#'. */
  hashtags?: readonly string[];
}

export interface CategoryMatcher {
  match(tokens: readonly Token[]): string[];
}

const MAX_PHRASE = 5;

function normalizeTerm(term: string): string {
  return term
    .toLowerCase()
    .replace(/\u2019/g, "'")
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

export function createCategoryMatcher(rules: readonly CategoryRule[]): CategoryMatcher {
  const byTerm = new Map<string, string[]>();
  const byTag = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, key: string, id: string): void => {
    if (key === '') return;
    const list = map.get(key);
    if (list === undefined) map.set(key, [id]);
    else if (!list.includes(id)) list.push(id);
  };
  for (const rule of rules) {
    for (const k of rule.keywords ?? []) {
      const norm = normalizeTerm(k);
      if (norm.split(' ').length <= MAX_PHRASE) add(byTerm, norm, rule.id);
    }
    for (const h of rule.hashtags ?? [])
      add(byTag, normalizeTerm(h.replace(/^[#\uFF03]/, '')), rule.id);
  }
  const order = new Map(rules.map((r, i) => [r.id, i]));
  return {
    match(tokens) {
      if (byTerm.size === 0 && byTag.size === 0) return [];
      const found = new Set<string>();
      const words: string[] = [];
      for (const t of tokens) {
        if (t.kind === 'hashtag') {
          const tag = t.norm;
          for (const id of byTag.get(tag) ?? []) found.add(id);
          for (const id of byTerm.get(tag) ?? []) found.add(id);
        } else if (t.kind === 'word') {
          words.push(t.norm);
        } else if (t.kind === 'number' || t.kind === 'cashtag') {
          words.push(t.text.toLowerCase());
        }
      }
      for (let i = 0; i < words.length; i++) {
        let phrase = '';
        for (let n = 0; n < MAX_PHRASE && i + n < words.length; n++) {
          const w = words[i + n] ?? '';
          phrase = n === 0 ? w : `${phrase} ${w}`;
          for (const id of byTerm.get(phrase) ?? []) found.add(id);
          if (n === 0) {
            const squashed = squashElongation(w);
            if (squashed !== w) for (const id of byTerm.get(squashed) ?? []) found.add(id);
          }
        }
      }
      return [...found].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    },
  };
}
