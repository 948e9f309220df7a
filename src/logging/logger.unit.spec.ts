import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createLogger, mask } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('logger', () => {
  it('writes one JSON object per event, with the ids of the request it is about and the pid and hostname of the process', () => {
    const { logger, lines } = capture();
    logger.info({ requestId: 'r-1', lineId: 'L-1', clientAccountId: 'A' }, 'plan-change applied');
    expect(lines).toEqual([expect.objectContaining({ level: 30, service: 'opensim', pid: process.pid, hostname: hostname(), requestId: 'r-1', lineId: 'L-1', clientAccountId: 'A', msg: 'plan-change applied', time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) })]);
  });

  it('masks MSISDN and ICCID, keeping the last four characters, at the top and nested two levels deep', () => {
    const { logger, lines } = capture();
    logger.info({ msisdn: '0612345678', line: { iccid: '8933150319000012345', lineId: 'L-1' }, doc: { line: { msisdn: '33612345678' } } }, 'line');
    expect(lines[0]).toMatchObject({ msisdn: '******5678', line: { iccid: '***************2345', lineId: 'L-1' }, doc: { line: { msisdn: '*******5678' } } });
    expect(JSON.stringify(lines[0])).not.toMatch(/0612345678|8933150319000012345|33612345678/);
  });

  it('masks short values entirely', () => {
    expect(mask('1234')).toBe('****');
    expect(mask(undefined)).toBe('****');
  });
});
