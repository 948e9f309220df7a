import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
/** Inside the repository, so the build resolves node_modules as dist/ does. */
const outDir = `dist-test-${randomBytes(4).toString('hex')}`;

describe('the compiled build (what the container image runs)', () => {
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('given `npm run build`, when its entry point runs a verb, then it answers as the sources do', async () => {
    await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir]);
    const { stdout } = await run(process.execPath, [`${outDir}/cli/run.js`, 'envelope', '--catalog', 'fixtures/catalog.json', '--plan', 'FPC367679@2026-10-01T00:00:00+02:00', '--plan', 'FPC367678@2026-11-15T10:00:00+01:00']);
    expect(JSON.parse(stdout)).toMatchObject({ month: '2026-11', totalBytes: 12884901887 });
    const refused = await run(process.execPath, [`${outDir}/cli/run.js`, 'envelope', '--catalog', 'fixtures/catalog.json', '--plan', 'NOPE@2026-10-01T00:00:00+02:00']).catch((err: { code: number; stderr: string }) => err);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown product 'NOPE'") });
  }, 120_000);
});
