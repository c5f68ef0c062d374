import { describe, expect, it } from 'vitest';
import { RATIONALE_MAX, labelResponseFormat, validateLabelAnswer } from './label-posts.js';

const posts = [
  { id: 'a', text: 'one' },
  { id: 'b', text: 'two' },
];
const taxonomy = { categories: ['x', 'y'] };
const item = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  topic: 't',
  category: 'x',
  sentiment: 'neutral',
  rationale: 'r',
  ...extra,
});

describe('validateLabelAnswer', () => {
  it('keeps valid items and reports each bad one with its own reason', () => {
    const content = JSON.stringify({
      labels: [item('a', { sentiment: 'ecstatic' }), item('b', { category: 'z' }), item('zzz')],
      summary: 's',
    });
    const attempt = validateLabelAnswer(content, 'stop', null, posts, taxonomy);
    expect(attempt.labelled.size).toBe(0);
    expect(attempt.failures.get('a')?.reason).toBe('invalid_label');
    expect(attempt.failures.get('b')?.reason).toBe('category_not_in_taxonomy');
    expect(attempt.summary).toBe('s');
  });

  it('keeps the first of duplicate ids, accepts a null category and clips long text', () => {
    const content = JSON.stringify({
      labels: [
        item('a', { category: null, rationale: 'r'.repeat(1_000) }),
        item('a', { category: 'y' }),
      ],
      summary: 's',
    });
    const attempt = validateLabelAnswer(content, 'stop', null, posts, taxonomy);
    const a = attempt.labelled.get('a');
    expect(a?.category).toBeNull();
    expect(a?.rationale.length).toBe(RATIONALE_MAX);
    expect(attempt.labelled.has('b')).toBe(false);
  });

  it('fails the whole answer when truncated, refused, empty, not JSON or not the envelope', () => {
    expect(
      validateLabelAnswer('{"labels": [', 'length', null, posts, taxonomy).overall?.reason,
    ).toBe('truncated_output');
    expect(validateLabelAnswer(null, 'stop', 'no', posts, taxonomy).overall?.reason).toBe(
      'refused',
    );
    expect(validateLabelAnswer('', 'stop', null, posts, taxonomy).overall?.reason).toBe(
      'malformed_output',
    );
    expect(validateLabelAnswer('nope', 'stop', null, posts, taxonomy).overall?.reason).toBe(
      'malformed_output',
    );
    expect(
      validateLabelAnswer('{"items": []}', 'stop', null, posts, taxonomy).overall?.reason,
    ).toBe('malformed_output');
  });
});

describe('labelResponseFormat', () => {
  it('is a strict schema whose category is the taxonomy or null', () => {
    const format = labelResponseFormat(taxonomy);
    expect(format.json_schema.strict).toBe(true);
    expect(JSON.stringify(format.json_schema.schema)).toContain(
      '"anyOf":[{"type":"string","enum":["x","y"]},{"type":"null"}]',
    );
    expect(JSON.stringify(labelResponseFormat({ categories: [] }).json_schema.schema)).toContain(
      '"category":{"type":"null"}',
    );
  });
});
