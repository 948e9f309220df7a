import { describe, expect, it } from 'vitest';
import { progress } from './progress.js';

describe('progress of long work', () => {
  it('on a terminal, redraws one line in place with count, share, rate and time left, and ends it', () => {
    const written: string[] = [];
    let clock = 0;
    const bar = progress('seeding', 1_000_000, { isTTY: true, write: (t) => written.push(t) }, () => clock);
    clock = 10_000;
    bar.advance(100_000);
    clock = 10_050;
    bar.advance(10_000); // within the redraw interval: not drawn
    clock = 20_000;
    bar.advance(90_000);
    bar.done();
    expect(written).toEqual([
      '\rseeding 100,000 / 1,000,000 (10 %), 10,000/s, about 2 min left\u001b[K',
      '\rseeding 200,000 / 1,000,000 (20 %), 10,000/s, about 80 s left\u001b[K',
      '\rseeding 200,000 / 1,000,000 (20 %), 10,000/s, about 80 s left\u001b[K',
      '\n',
    ]);
  });

  it('writes nothing when the stream is not a terminal (logs, pipes, CI)', () => {
    const written: string[] = [];
    const bar = progress('retrying', 10, { isTTY: false, write: (t) => written.push(t) });
    bar.advance(5);
    bar.done();
    expect(written).toEqual([]);
  });
});
