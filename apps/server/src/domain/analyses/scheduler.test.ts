import { describe, expect, it } from 'vitest';
import { fairnessKeyOf } from './scheduler.js';

const ws = (n: number): string => `00000000-0000-4000-8000-00000000000${n}`;

describe('fairnessKeyOf', () => {
  it('queues a person’s analyses under the person, in every workspace', () => {
    const person = { userId: ws(9), apiKeyId: null };
    expect(fairnessKeyOf(person, ws(1))).toBe(`user:${ws(9)}`);
    expect(fairnessKeyOf(person, ws(2))).toBe(fairnessKeyOf(person, ws(1)));
  });

  it('queues an API key’s analyses under the key', () => {
    expect(fairnessKeyOf({ userId: null, apiKeyId: ws(8) }, ws(1))).toBe(`key:${ws(8)}`);
  });

  it('queues an operator’s analyses (no person, no key) per workspace, not in one shared line', () => {
    const operator = { userId: null, apiKeyId: null };
    expect(fairnessKeyOf(operator, ws(1))).toBe(`workspace:${ws(1)}`);
    expect(fairnessKeyOf(operator, ws(2))).not.toBe(fairnessKeyOf(operator, ws(1)));
  });
});
