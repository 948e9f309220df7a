import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { eventually } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

describe('a terminal error', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    await client?.cleanup();
  });

  it('given a job no version of the code knows, then it is dead-lettered TERMINAL_ERROR after one attempt, and counted so', async () => {
    const env = isolatedEnv({ OPENSIM_RETRY_ATTEMPTS: '8' });
    client = await PipelineClient.open(env);
    await client.seed(fleet('TERM', 1));
    system = await startInProcess(env);
    const queue = client.queue(0);
    await queue.add('bogus', { kind: 'bogus', subject: 'x', receivedAt: new Date().toISOString() } as never, { jobId: 'bogus-1', removeOnFail: false });
    await eventually(async () => (await client!.db.collection('deadLetters').countDocuments({ reason: 'TERMINAL_ERROR' })) === 1, 20_000);
    expect(await client.db.collection('deadLetters').findOne({ reason: 'TERMINAL_ERROR' })).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/^TerminalError: not a command this code knows/), kind: 'unknown' });
    // The relay pass counts a letter just after it writes it: the count follows within a pass.
    await eventually(async () => /opensim_dead_lettered_total\{reason="TERMINAL_ERROR"\} 1\n/.test((await system!.metrics.render()).body), 5_000);
    await queue.close();
  });
});
