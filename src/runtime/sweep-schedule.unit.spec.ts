import { describe, expect, it } from 'vitest';
import { SweepSchedule } from './sweep-schedule.js';

describe('SweepSchedule', () => {
  it('given a fresh process, the first tick sweeps (crash recovery at start)', () => {
    expect(new SweepSchedule(30_000).due(1_000)).toBe(true);
  });

  it('given a sweep just ran and nothing is requested, it waits for the full-sweep pace', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(1_000, true);
    expect(schedule.due(2_000)).toBe(false);
    expect(schedule.due(31_000)).toBe(true);
  });

  it('given work requested for later, it is due at that time and not before', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(1_000, true);
    schedule.request(5_000);
    expect(schedule.due(4_999)).toBe(false);
    expect(schedule.due(5_000)).toBe(true);
    schedule.swept(5_000, true);
    expect(schedule.due(6_000)).toBe(false);
  });

  it('says when the earliest work asked for is due, so a sweeper can wake then', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(1_000, true);
    expect(schedule.requestedAt()).toBe(Number.POSITIVE_INFINITY);
    schedule.request(5_000);
    schedule.request(3_000);
    expect(schedule.requestedAt()).toBe(3_000);
    schedule.swept(3_000, true);
    expect(schedule.requestedAt()).toBe(5_000);
    schedule.swept(5_000, true);
    expect(schedule.requestedAt()).toBe(Number.POSITIVE_INFINITY);
  });

  it('given a sweep that stopped at its page size, the next tick goes on', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(1_000, false);
    expect(schedule.due(1_001)).toBe(true);
  });

  it('given work requested during a sweep, it is kept for the next one', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.request(2_000);
    schedule.swept(1_500, true);
    expect(schedule.due(2_000)).toBe(true);
  });

  it('given work due later than the earliest, a sweep of the earliest keeps the later one', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(0, true);
    schedule.request(1_000);
    schedule.request(2_000);
    schedule.swept(1_000, true);
    expect(schedule.requestedAt()).toBe(2_000);
    expect(schedule.due(1_999)).toBe(false);
    expect(schedule.due(2_000)).toBe(true);
  });

  it('given work asked for while a sweep of earlier work runs, it is kept for the next one', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(0, true);
    schedule.request(1_000);
    const started = 1_000; // a sweep starts, then work is asked for before it ends
    schedule.request(1_200);
    schedule.swept(started, true);
    expect(schedule.due(1_200)).toBe(true);
  });

  it('never sweeps before the work asked for is due, and at most a few ms after', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(0, true);
    schedule.request(1_003);
    expect(schedule.due(1_002)).toBe(false);
    expect(schedule.due(1_003)).toBe(false);
    expect(schedule.due(1_010)).toBe(true);
  });

  it('given many requests, it keeps them few (one per grain), and a sweep drops those it covered', () => {
    const schedule = new SweepSchedule(30_000);
    schedule.swept(0, true);
    for (let k = 0; k < 10_000; k++) schedule.request(1_000 + k / 10);
    expect(schedule.requestedAt()).toBe(1_000);
    schedule.swept(1_500, true);
    expect(schedule.requestedAt()).toBe(1_510);
    schedule.swept(2_000, true);
    expect(schedule.requestedAt()).toBe(Number.POSITIVE_INFINITY);
  });
});
