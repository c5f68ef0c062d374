import { describe, expect, it } from 'vitest';
import { chunkProgress } from './analyses.js';

describe('chunkProgress (the CLI progress bar)', () => {
  it('counts done and dead-lettered chunks as settled, with the posts processed', () => {
    expect(
      chunkProgress({ status: 'running', chunks_done: 4, chunks_failed: 1, posts_processed: 480 }),
    ).toEqual({ done: 5, posts: 480 });
    expect(chunkProgress({ chunks_done: 0 })).toEqual({ done: 0, posts: 0 });
  });

  it('has nothing for events without counts, so the bar does not fall back to 0', () => {
    // A failed attempt's event (it will be retried) and the job summary's.
    expect(chunkProgress({ seq: 3, attempt: 1, error: { message: 'timeout' } })).toBeNull();
    expect(chunkProgress({ summary: null, reason: 'llm_failed' })).toBeNull();
    expect(chunkProgress(null)).toBeNull();
    expect(chunkProgress('chunks_done')).toBeNull();
    expect(chunkProgress({ chunks_done: '4' })).toBeNull();
  });
});
