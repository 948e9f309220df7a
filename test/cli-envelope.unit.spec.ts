import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';

const CATALOG = fileURLToPath(new URL('../fixtures/catalog.json', import.meta.url));
const WORKED_EXAMPLE = ['--plan', 'FPC367679@2026-10-01T00:00:00+02:00', '--plan', 'FPC367678@2026-11-15T10:00:00+01:00'];

async function opensim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, stdout: out.join(''), stderr: err.join('') };
}

afterEach(() => vi.restoreAllMocks());

describe('opensim envelope', () => {
  it('given the shipped catalog and the worked example, when run, then it prints the envelope JSON with 12884901887 bytes', async () => {
    const { code, stdout, stderr } = await opensim('envelope', '--catalog', CATALOG, ...WORKED_EXAMPLE);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      month: '2026-11',
      days: 30,
      totalBytes: 12884901887,
      segments: [
        { productRef: 'FPC367679', fromDay: 1, toDay: 14, days: 14, allowanceBytes: 21474836480, proratedBytes: 10021590357 },
        { productRef: 'FPC367678', fromDay: 15, toDay: 30, days: 16, allowanceBytes: 5368709120, proratedBytes: 2863311530 },
      ],
    });
  });

  it('given --month, when run, then that month is computed (October: the 20 GiB plan whole)', async () => {
    const { code, stdout } = await opensim('envelope', '--catalog', CATALOG, ...WORKED_EXAMPLE, '--month', '2026-10');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ month: '2026-10', days: 31, totalBytes: 21474836480 });
  });

  it('given a metered plan, when run, then totalBytes is null', async () => {
    const { stdout } = await opensim('envelope', '--catalog', CATALOG, '--plan', 'FPC367679-COMPTEUR@2026-11-03T08:00:00+01:00');
    expect(JSON.parse(stdout)).toMatchObject({ totalBytes: null, segments: [{ fromDay: 3, toDay: 30, allowanceBytes: null, proratedBytes: null }] });
  });

  it('given --help, when run, then the usage is printed', async () => {
    const { code, stdout } = await opensim('envelope', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('usage: opensim envelope');
  });

  it.each([
    ['an unknown product', ['--catalog', CATALOG, '--plan', 'FPC999@2026-10-01T00:00:00+02:00'], "unknown product 'FPC999'"],
    ['an impossible date', ['--catalog', CATALOG, '--plan', 'FPC367679@2026-02-30T00:00:00+01:00'], "invalid instant '2026-02-30T00:00:00+01:00'"],
    ['a date without offset', ['--catalog', CATALOG, '--plan', 'FPC367679@2026-11-15T10:00:00'], 'invalid instant'],
    ['a bad month', ['--catalog', CATALOG, ...WORKED_EXAMPLE, '--month', '2026-13'], "--month: invalid month '2026-13'"],
    ['a plan without instant', ['--catalog', CATALOG, '--plan', 'FPC367679'], 'expected <productRef>@<instant>'],
    ['plans out of order', ['--catalog', CATALOG, ...WORKED_EXAMPLE.slice(2), ...WORKED_EXAMPLE.slice(0, 2)], 'chronological order'],
    ['no plan', ['--catalog', CATALOG], 'at least one --plan'],
    ['no catalog', WORKED_EXAMPLE, '--catalog <file> is required'],
    ['a missing catalog file', ['--catalog', 'nope.json', ...WORKED_EXAMPLE], "cannot read catalog 'nope.json'"],
    ['a catalog that is not JSON', ['--catalog', fileURLToPath(import.meta.url), ...WORKED_EXAMPLE], 'is not JSON'],
    ['an unknown option', ['--catalog', CATALOG, ...WORKED_EXAMPLE, '--monht', '2026-11'], "Unknown option '--monht'"],
  ])('given %s, when run, then a clear error on stderr and exit code 2', async (_, args, message) => {
    const { code, stdout, stderr } = await opensim('envelope', ...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('opensim envelope: ');
    expect(stderr).toContain(message);
  });
});
