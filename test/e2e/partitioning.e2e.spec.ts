import { afterEach, describe, expect, it } from 'vitest';
import { allRoles } from '../../src/app/roles.js';
import { selectRoles } from '../../src/app/role-selection.js';
import { startSystem, type RunningSystem } from '../../src/app/system.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { partitioningKey } from '../../src/queues/partitioning.js';
import { partitionOf } from '../../src/queues/command-queues.js';
import { eventually } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'PART';

const change = (requestId: string, target: string, minute: number) => ({
  requestId, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-${target}`, requestedAt: new Date(Date.UTC(2026, 10, 15, 9, minute)).toISOString(),
});

describe('a change of the partition count', () => {
  let client: PipelineClient | undefined;
  const systems: RunningSystem[] = [];

  afterEach(async () => {
    for (const s of systems.splice(0)) await s.stop();
    await client?.cleanup();
  });

  it('given a job still waiting in a queue of the old count, when the system starts with another count, then it takes nothing in until that queue has drained, and the line changes in publish order', async () => {
    // An account whose queue is not the same under 2 and under 8 partitions.
    const old = { ...isolatedEnv({ OPENSIM_PARTITIONS: '2' }) };
    client = await PipelineClient.open(old);
    expect(partitionOf(ACC, 2)).not.toBe(partitionOf(ACC, 8));
    await client.seed(fleet(ACC, 1));
    await client.ensureStreams();
    // The old deployment took q1 in (its queue paused: the job waits), then stopped.
    const intakeOnly = await startSystem(loadConfig(old), createLogger('silent'), selectRoles(allRoles(), ['intake']));
    systems.push(intakeOnly);
    const oldQueue = client.queue(partitionOf(ACC, 2));
    await oldQueue.pause();
    await client.planChange(change('q1', 'FPC367678-0', 0));
    await eventually(async () => (await oldQueue.getJobCounts('wait')).wait === 1, 20_000);
    await systems.pop()!.stop();
    expect(await client.redis.get(partitioningKey(client.prefix))).toBe('account/2');

    // The new deployment, 8 partitions: q2 (valid only after q1) is published meanwhile.
    systems.push(await startInProcess({ ...old, OPENSIM_PARTITIONS: '8' }));
    await client.planChange(change('q2', 'R20', 5));
    await new Promise((r) => setTimeout(r, 1500));
    const newQueue = client.queue(partitionOf(ACC, 8));
    expect(await newQueue.getJobCounts('wait', 'active', 'completed')).toEqual({ wait: 0, active: 0, completed: 0 });
    expect(client.events.filter((e) => e.type.startsWith('opensim.plan-change.'))).toEqual([]);

    await oldQueue.resume();
    await client.waitForEvents((e) => e.type.startsWith('opensim.plan-change.') && ['q1', 'q2'].includes(String(e.data.requestId)), 2, 30_000);
    expect(client.events.filter((e) => e.type.startsWith('opensim.plan-change.')).map((e) => `${String(e.data.requestId)} ${e.type.replace('opensim.plan-change.', '')}`)).toEqual(['q1 applied', 'q2 applied']);
    expect(await client.redis.get(partitioningKey(client.prefix))).toBe('account/8');
    await oldQueue.close();
    await newQueue.close();
  }, 90_000);
});
