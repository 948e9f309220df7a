import { afterEach, describe, expect, it, vi } from 'vitest';
import { clockStartingAt, onClock, systemClock } from './clock.js';

describe('onClock', () => {
  afterEach(() => vi.useRealTimers());

  it('leaves a real instant as it is on the system clock (production: one clock)', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-01T00:00:00.000+01:00') });
    const due = Date.parse('2026-11-30T23:00:00.000Z');
    expect(onClock(systemClock, due)).toBe(due);
  });

  it('places a real instant on a clock of its own, by that clock\'s distance from the real one', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-08T10:00:00.000Z') });
    const clock = clockStartingAt('2026-11-20T11:00:00.000Z');
    // A job due one second ago in real time was due one second ago on the test's clock too.
    expect(new Date(onClock(clock, Date.now() - 1000)).toISOString()).toBe('2026-11-20T10:59:59.000Z');
    vi.advanceTimersByTime(5000);
    expect(new Date(onClock(clock, Date.now())).toISOString()).toBe('2026-11-20T11:00:05.000Z');
  });
});
