import { describe, expect, it } from 'vitest';
import { subjectCovers } from './consumers.js';

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
