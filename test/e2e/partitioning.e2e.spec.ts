import { afterEach, describe, expect, it } from 'vitest';
import { allRoles } from '../../src/app/roles.js';
import { selectRoles } from '../../src/app/role-selection.js';
import { startSystem, type RunningSystem } from '../../src/app/system.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { partitioningKey } from '../../src/queues/partitioning.js';
import { intakeCoordinationKeys } from '../../src/queues/intake-keys.js';
import { COMMAND_CONSUMER, naming } from '../../src/messaging/subjects.js';
import { ensureStreams } from '../../src/messaging/streams.js';
import { AckPolicy, DeliverPolicy } from 'nats';
import { partitionOf } from '../../src/queues/command-queues.js';
import { eventually } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'PART';

const change = (requestId: string, target: string, minute: number) => ({
  requestId, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-${target}`, requestedAt: new Date(Date.UTC(2026, 10, 15, 9, minute)).toISOString(),
});

/** Request r of an account's line: alternately to the spare and back, so each is valid only after the one before. */
const toggle = (a: string, r: number) => ({
  requestId: `${a}-${r}`, clientAccountId: a, serviceRef: `SVC-${a}`, lineId: `${a}-L0`,
  targetResourceId: r % 2 === 0 ? `${a}-L0-FPC367678-0` : `${a}-L0-R20`, requestedAt: new Date(Date.UTC(2026, 10, 15, 9, r)).toISOString(),
});

/** Every request applied, and each line's decisions in publish order. */
async function expectAppliedInPublishOrder(client: PipelineClient, accounts: string[], rounds: number): Promise<void> {
  const isOutcome = (e: { type: string }) => e.type.startsWith('opensim.plan-change.');
  await client.waitForEvents(isOutcome, accounts.length * rounds, 60_000);
  expect(client.events.filter(isOutcome).filter((e) => e.type !== 'opensim.plan-change.applied').map((e) => [e.data.requestId, e.data.reason])).toEqual([]);
  for (const a of accounts) {
    const line = await client.db.collection('lines').findOne({ _id: `${a}-L0` as never });
    expect(line!.decidedRequestIds).toEqual(Array.from({ length: rounds }, (_, r) => `${a}-${r}`));
  }
}

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
    expect(await client.redis.get(partitioningKey(client.prefix))).toBe('account/2/tagged');

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
    expect(await client.redis.get(partitioningKey(client.prefix))).toBe('account/8/tagged');
    await oldQueue.close();
    await newQueue.close();
  }, 90_000);

  it('given commands stored under 4 intake partitions and not taken in, when the system starts with 8, then they are taken in before the commands stored under 8, and every line changes in publish order', async () => {
    const accounts = ['PA', 'PB', 'PC', 'PD', 'PE', 'PF'];
    const env4 = isolatedEnv({ OPENSIM_PARTITIONS: '4' });
    client = await PipelineClient.open(env4);
    // Some accounts change partition (and queue) between 4 and 8: those are the ones that could be overtaken.
    expect(accounts.filter((a) => partitionOf(a, 4) !== partitionOf(a, 8)).length).toBeGreaterThan(0);
    for (const a of accounts) await client.seed(fleet(a, 1));
    // A deployment with 4 partitions ran (the stream is partitioned by 4), then stopped.
    await (await startInProcess(env4)).stop();
    for (let r = 0; r < 4; r++) for (const a of accounts) await client.planChange(toggle(a, r));
    const jsm = await client.nc.jetstreamManager();
    const stored = await jsm.streams.getMessage(naming(client.prefix).commandStream, { seq: 1 });
    expect(stored.subject).toMatch(new RegExp(`^${client.prefix}\\.cmd\\.4\\.\\d\\.plan-change\\.PA$`));
    // The server's partition of an account is the queue partitionOf gives it (FNV-1a modulo P).
    for (let seq = 1; seq <= accounts.length; seq++) {
      const [, , , p, , account] = (await jsm.streams.getMessage(naming(client.prefix).commandStream, { seq })).subject.split('.');
      expect([account, Number(p)]).toEqual([account, partitionOf(account!, 4)]);
    }

    // Now 8 partitions: the stream stores the next commands under 8, while those under 4 still wait.
    systems.push(await startInProcess({ ...env4, OPENSIM_PARTITIONS: '8' }));
    for (let r = 4; r < 8; r++) for (const a of accounts) await client.planChange(toggle(a, r));
    await expectAppliedInPublishOrder(client, accounts, 8);
    // The drained layout is gone: its consumers deleted, the list holds 8 alone.
    await eventually(async () => (await jsm.consumers.list(naming(client!.prefix).commandStream).next()).every((c) => !c.name.startsWith('command-intake-4-')), 20_000);
    expect(await client.redis.lrange(intakeCoordinationKeys(client.prefix).layouts, 0, -1)).toEqual(['8']);
  }, 120_000);

  it('given commands stored unpartitioned by an earlier version with a single intake, when the system starts partitioned, then the rest are taken in before the commands stored under the partitions, in publish order', async () => {
    const accounts = ['LA', 'LB', 'LC', 'LD'];
    const env = isolatedEnv({ OPENSIM_PARTITIONS: '4' });
    client = await PipelineClient.open(env);
    for (const a of accounts) await client.seed(fleet(a, 1));
    // The earlier version: an unpartitioned stream, its single intake's consumer.
    const names = naming(client.prefix);
    const jsm = await client.nc.jetstreamManager();
    await ensureStreams(jsm, names);
    await jsm.consumers.add(names.commandStream, { durable_name: COMMAND_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subjects: names.commandSubjects, ack_wait: 30e9, max_deliver: 20 });
    for (let r = 0; r < 4; r++) for (const a of accounts) await client.planChange(toggle(a, r));
    expect((await jsm.streams.getMessage(names.commandStream, { seq: 1 })).subject).toBe(`${client.prefix}.cmd.plan-change.LA`);

    systems.push(await startInProcess(env));
    for (let r = 4; r < 8; r++) for (const a of accounts) await client.planChange(toggle(a, r));
    await expectAppliedInPublishOrder(client, accounts, 8);
    // The single intake's consumer is deleted once its messages are all taken in; only the partitions' remain.
    await eventually(async () => (await jsm.consumers.list(names.commandStream).next()).every((c) => c.name !== COMMAND_CONSUMER), 20_000);
    expect(await client.redis.lrange(intakeCoordinationKeys(client.prefix).layouts, 0, -1)).toEqual(['4']);
  }, 120_000);
});
