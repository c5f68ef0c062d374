import { AppError } from '../../errors.js';
import { ruleProblems, type CategoryRule } from '../../analysis/nlp/categories.js';

/**
 * Refuses a workspace's category rules that could never match a post (a keyword longer than the
 * matcher's phrases, a link, a hashtag with a space…), naming each rule, term and reason. Here,
 * not in the contracts schema: whether a keyword can match depends on the matcher's tokenizer
 * and folding, which the browser-safe contracts package cannot import.
 */
export function assertMatchableRules(rules: readonly CategoryRule[]): void {
  const problems = ruleProblems(rules);
  const first = problems[0];
  if (first === undefined) return;
  throw new AppError(
    'validation_failed',
    `body.categories.${first.ruleIndex}.${first.field}.${first.index}: ${first.message}`,
    {
      details: {
        problems: problems.map((p) => ({
          in: 'body',
          field: `categories.${p.ruleIndex}.${p.field}.${p.index}`,
          message: p.message,
          value: p.term,
        })),
      },
    },
  );
}
