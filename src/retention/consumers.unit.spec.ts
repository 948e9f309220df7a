import { describe, expect, it } from 'vitest';
import { storedSubjects, subjectCovers } from './consumers.js';

describe('subjectCovers: a filter that matches every message of a stream subject', () => {
  it.each([
    ['os.cmd.plan-change.*', 'os.cmd.plan-change.*', true],
    ['os.cmd.>', 'os.cmd.plan-change.*', true],
    ['>', 'os.usage.*', true],
    ['os.*.plan-change.*', 'os.cmd.plan-change.*', true],
    ['os.cmd.plan-change.A', 'os.cmd.plan-change.*', false],
    ['os.cmd.plan-change.*', 'os.cmd.>', false],
    ['os.cmd.*', 'os.cmd.plan-change.*', false],
    ['os.cmd.plan-change.*.x', 'os.cmd.plan-change.*', false],
    ['os.mon.>', 'os.mon', false],
    ['os.evt.>', 'os.mon.>', false],
  ])('%s covers %s: %s', (filter, subject, covers) => {
    expect(subjectCovers(filter, subject)).toBe(covers);
  });
});

describe('storedSubjects: what consumers must cover on a partitioned stream', () => {
  it('expands the partition token of the transform into each partition, and keeps subjects it does not match', () => {
    const transform = { src: 'os.cmd.*.*', dest: 'os.cmd.2.{{partition(2,2)}}.{{wildcard(1)}}.{{wildcard(2)}}' };
    expect(storedSubjects(['os.cmd.plan-change.*', 'os.other.>'], transform)).toEqual(['os.cmd.2.0.plan-change.*', 'os.cmd.2.1.plan-change.*', 'os.other.>']);
    expect(storedSubjects(['os.cmd.plan-change.*'], undefined)).toEqual(['os.cmd.plan-change.*']);
  });
});
