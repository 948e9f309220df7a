import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { isolatedEnv, PipelineClient } from '../support/pipeline.js';

describe('opensim start --roles: a subset of the roles in one process', () => {
  let env: Record<string, string>;
  let opensim: OpensimProcess;

  beforeAll(() => {
    env = isolatedEnv({ OPENSIM_EVENTS_MAX_MIB: '64', LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await opensim?.kill('SIGKILL');
    const client = await PipelineClient.open(env);
    await client.cleanup();
  });

  it('runs the wiring, the stream retention and the named roles only, becomes ready, and stops on SIGTERM', async () => {
    opensim = spawnOpensim(['start', '--roles', 'workers,intake'], env);
    const starting = await opensim.waitForLog((l) => l.msg === 'opensim starting', 30_000);
    expect([...(starting.roles as string[])].sort()).toEqual(['command-intake', 'command-worker', 'stream-retention', 'wiring']);
    const started = await opensim.waitForLog((l) => l.msg === 'opensim started', 30_000);
    const readyz = `http://127.0.0.1:${String(started.httpPort)}/readyz`;
    await eventually(async () => (await fetch(readyz)).status === 200, 30_000);
    expect(await opensim.kill('SIGTERM')).toBe(0);
  }, 60_000);
});
