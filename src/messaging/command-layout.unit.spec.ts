import { describe, expect, it } from 'vitest';
import { commandTransform, intakePartition, intakePartitions, layoutOfTransform, LEGACY } from './command-layout.js';
import { commandKindOf, publishedSubject } from './subjects.js';

describe('the command stream layout', () => {
  it('names one consumer and one filter per partition, and the single intake of earlier versions as it was', () => {
    expect(intakePartitions('os', 4).map((p) => [p.consumer, p.filter])).toEqual([
      ['command-intake-4-0', 'os.cmd.4.0.>'],
      ['command-intake-4-1', 'os.cmd.4.1.>'],
      ['command-intake-4-2', 'os.cmd.4.2.>'],
      ['command-intake-4-3', 'os.cmd.4.3.>'],
    ]);
    expect(intakePartition('os', LEGACY, 0)).toEqual({ layout: LEGACY, index: 0, consumer: 'command-intake', filter: 'os.cmd.*.*' });
  });

  it('reads P back from the transform it writes, and LEGACY from none or a foreign one', () => {
    expect(commandTransform('os', 8)).toEqual({ src: 'os.cmd.*.*', dest: 'os.cmd.8.{{partition(8,2)}}.{{wildcard(1)}}.{{wildcard(2)}}' });
    expect(layoutOfTransform('os', commandTransform('os', 8))).toBe(8);
    expect(layoutOfTransform('os', undefined)).toBe(LEGACY);
    expect(layoutOfTransform('os', commandTransform('other', 8))).toBe(LEGACY);
    expect(layoutOfTransform('os', { src: 'os.cmd.*.*', dest: 'os.cmd.x.{{wildcard(1)}}' })).toBe(LEGACY);
  });

  it('gives back the subject upstream published on, and the kind, from a stored subject of any layout', () => {
    expect(publishedSubject('os', 'os.cmd.8.3.plan-change.ACME')).toBe('os.cmd.plan-change.ACME');
    expect(publishedSubject('os', 'os.cmd.plan-change-cancel.ACME')).toBe('os.cmd.plan-change-cancel.ACME');
    expect(publishedSubject('os', 'os.usage.ACME')).toBe('os.usage.ACME');
    // An account named like a number stays an account.
    expect(publishedSubject('os', 'os.cmd.resource-order.42')).toBe('os.cmd.resource-order.42');
    expect(commandKindOf('os', 'os.cmd.4.0.resource-order.ACME')).toBe('resource-order');
    expect(commandKindOf('os', 'os.cmd.4.0.nope.ACME')).toBeNull();
  });
});
