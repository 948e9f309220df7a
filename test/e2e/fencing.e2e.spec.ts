import { AckPolicy, DeliverPolicy } from 'nats';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { allRoles } from '../../src/app/roles.js';
import { startSystem } from '../../src/app/system.js';
import { loadConfig } from '../../src/config/config.js';
import type { CloudEvent } from '../../src/contract/messages.js';
import { partitionOf } from '../../src/queues/command-queues.js';
import { intakePartition } from '../../src/messaging/command-layout.js';
import { naming } from '../../src/messaging/subjects.js';
import { USAGE_CONSUMER } from '../../src/usage/usage-intake.js';
import { untilStopped } from '../support/frozen.js';
import { eventually, spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

/**
 * A process whose event loop stalls past its intake lease or its job lock (a long GC, a frozen
 * VM) wakes up believing it still holds them. These tests freeze a real process at a chosen
 * step (a `:stop` failpoint: SIGSTOP), let another process take over, wake the frozen one
 * (SIGCONT), and check the outcomes publish order implies: nothing overtaken, nothing applied
 * twice, no resource state written from a view that is no longer true.
 */
const ACC = 'FENCE';
const SVC = `SVC-${ACC}`;

const change = (requestId: string, line: number, target: string, minute: number) => ({
  requestId, clientAccountId: ACC, serviceRef: SVC, lineId: `${ACC}-L${line}`,
  targetResourceId: `${ACC}-L${line}-${target}`, requestedAt: new Date(Date.UTC(2026, 10, 15, 9, minute)).toISOString(),
});

const outcomeOf = (requestId: string) => (e: CloudEvent) => e.type.startsWith('opensim.plan-change.') && e.data.requestId === requestId;

describe('fencing: a process that wakes after losing its lease or lock changes nothing', () => {
  let client: PipelineClient | undefined;
  const processes: OpensimProcess[] = [];

  afterEach(async () => {
    for (const p of processes.splice(0)) {
      p.child.kill('SIGCONT');
      await p.kill('SIGKILL');
    }
    await client?.cleanup();
    client = undefined;
  });

  function spawn(env: Record<string, string>): OpensimProcess {
    const p = spawnOpensim(['start'], env);
    processes.push(p);
    return p;
  }

  /** One outcome event per request (re-publishes keep their id), and what each came to. */
  function outcomes(ids: string[]): Record<string, string[]> {
    return Object.fromEntries(ids.map((id) => [id, [...new Set(client!.events.filter(outcomeOf(id)).map((e) => e.id))].map((eventId) => eventId.split(':').at(-1)!)]));
  }

  it('an intake holder frozen with commands in hand: the process that takes over enqueues them first, and the frozen one enqueues nothing when it wakes', async () => {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_INTAKE_LEASE_MS: '1000', OPENSIM_INTAKE_ACK_WAIT_MS: '2000', OPENSIM_INTAKE_MAX_IN_FLIGHT: '4' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 4));
    await client.ensureStreams();
    // An earlier deployment created the account's partition consumer with other settings: ack wait 60 s, 1000 in flight.
    const names = naming(client.prefix);
    const jsm = await client.nc.jetstreamManager();
    await jsm.consumers.add(names.commandStream, {
      durable_name: client.intakeConsumer(ACC), ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All,
      filter_subjects: [`${client.prefix}.cmd.4.${partitionOf(ACC, 4)}.>`], max_ack_pending: 1000, ack_wait: 60_000_000_000, max_deliver: 20,
    });
    // q1 moves line 0 to its 5 GiB resource; three other lines' changes follow it in the stream.
    await client.planChange(change('q1', 0, 'FPC367678-0', 0));
    for (let i = 1; i <= 3; i++) await client.planChange(change(`f${i}`, i, 'FPC367678-0', 0));

    // P pulls them (four: its whole pull) and freezes while taking q1 in.
    const frozen = spawn({ ...env, OPENSIM_FAILPOINT: 'intake:before-enqueue:stop', OPENSIM_FAILPOINT_KEY: 'q1' });
    await untilStopped(frozen.child.pid!);
    const other = spawn(env);
    await other.waitForLog((l) => l.msg === 'intake partition taken', 30_000);

    // q2 moves line 0 back to its 20 GiB resource: valid only once q1 is applied.
    await client.planChange(change('q2', 0, 'R20', 5));
    await client.waitForEvents(outcomeOf('q2'), 1, 30_000);
    frozen.child.kill('SIGCONT');
    await frozen.waitForLog((l) => /lost its lease/.test(l.msg), 30_000);
    const all = ['q1', 'q2', 'f1', 'f2', 'f3'];
    await client.waitForEvents((e) => e.type.startsWith('opensim.plan-change.') && all.includes(String(e.data.requestId)), all.length, 30_000);
    // A later request of the service: once decided, nothing older waits in its partition.
    await client.planChange({ ...change('later', 3, 'R20', 9), lineId: 'NOPE' });
    await client.waitForEvents(outcomeOf('later'), 1, 30_000);

    expect(outcomes(all)).toEqual({ q1: ['applied'], q2: ['applied'], f1: ['applied'], f2: ['applied'], f3: ['applied'] });
    const line = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });
    expect(line!.line.planHistory.map((h: { requestId?: string }) => h.requestId ?? null)).toEqual([null, 'q1', 'q2']);
  }, 120_000);

  it('a worker frozen after its line write, whose job is then run elsewhere and followed by a newer change: it writes no resource state when it wakes', async () => {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_LOCK_DURATION_MS: '1000', OPENSIM_INTAKE_LEASE_MS: '1000' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    await client.ensureStreams();
    await client.planChange(change('q1', 0, 'FPC367678-0', 0));
    const frozen = spawn({ ...env, OPENSIM_FAILPOINT: 'plan-change:after-line-write:stop', OPENSIM_FAILPOINT_KEY: 'q1' });
    await untilStopped(frozen.child.pid!);

    // Its job lock expires; the other process runs the job again (it finds the change committed), then a newer change.
    spawn(env);
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'q1', 1, 30_000);
    await client.planChange(change('q2', 0, 'R20', 5));
    await client.waitForEvents(outcomeOf('q2'), 1, 60_000);

    frozen.child.kill('SIGCONT');
    await frozen.waitForLog((l) => l.requestId === 'q1' && /^plan-change /.test(l.msg), 30_000);
    const resources = await client.db.collection('resources').find({ serviceRef: SVC }).toArray();
    expect(Object.fromEntries(resources.map((r) => [r._id, [r.state, r.lineId ?? null]]))).toEqual({
      [`${ACC}-L0-R20`]: ['active', `${ACC}-L0`],
      [`${ACC}-L0-FPC367678-0`]: ['available', null],
      [`${ACC}-L0-FPC367678-1`]: ['available', null],
    });
    // And the resource it left is really free again: a change to it is applied.
    await client.planChange(change('q3', 0, 'FPC367678-0', 10));
    await client.waitForEvents(outcomeOf('q3'), 1, 30_000);
    expect(outcomes(['q1', 'q2', 'q3'])).toEqual({ q1: ['applied'], q2: ['applied'], q3: ['applied'] });
  }, 120_000);

  it('a job that stalls more often than allowed ends failed and dead-lettered, and its frozen worker cannot apply it when it wakes', async () => {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_LOCK_DURATION_MS: '1000', OPENSIM_INTAKE_LEASE_MS: '1000', OPENSIM_MAX_STALLED_COUNT: '0' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    await client.ensureStreams();
    await client.planChange(change('q1', 0, 'FPC367678-0', 0));
    const frozen = spawn({ ...env, OPENSIM_FAILPOINT: 'plan-change:before-line-write:stop', OPENSIM_FAILPOINT_KEY: 'q1' });
    await untilStopped(frozen.child.pid!);

    spawn(env);
    await client.waitForEvents(outcomeOf('q1'), 1, 30_000);
    frozen.child.kill('SIGCONT');
    await frozen.waitForLog((l) => l.requestId === 'q1' && /^plan-change /.test(l.msg), 30_000);
    await client.planChange({ ...change('later', 0, 'R20', 9), lineId: 'NOPE' });
    await client.waitForEvents(outcomeOf('later'), 1, 30_000);

    expect(outcomes(['q1'])).toEqual({ q1: ['failed'] });
    const line = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });
    expect(line!.line.activeResourceId).toBe(`${ACC}-L0-R20`);
    expect(await client.db.collection('deadLetters').findOne({ requestId: 'q1' })).toMatchObject({ reason: 'STALLED_TOO_OFTEN', kind: 'plan-change' });
    expect(await client.db.collection('requests').findOne({ _id: 'plan-change:q1' as never })).toMatchObject({ outcome: 'failed' });
  }, 120_000);
});

describe('durable consumers follow the configuration', () => {
  let client: PipelineClient | undefined;

  afterEach(async () => {
    await client?.cleanup();
    client = undefined;
  });

  it('given consumers created with one ack wait, in-flight bound and delivery cap, when the system starts again with others, then JetStream holds the new ones and the change is logged', async () => {
    const env = isolatedEnv({ OPENSIM_INTAKE_ACK_WAIT_MS: '30000', OPENSIM_INTAKE_MAX_IN_FLIGHT: '256', OPENSIM_USAGE_ACK_WAIT_MS: '60000' });
    client = await PipelineClient.open(env);
    const first = await startInProcess(env);
    await first.stop();
    const names = naming(client.prefix);
    const jsm = await client.nc.jetstreamManager();
    // One of the intake's partition consumers (isolatedEnv: 4 partitions).
    const COMMAND_CONSUMER = intakePartition(client.prefix, 4, 0).consumer;
    expect((await jsm.consumers.info(names.commandStream, COMMAND_CONSUMER)).config).toMatchObject({ ack_wait: 30_000_000_000, max_ack_pending: 256, max_deliver: -1 });
    // An older version capped deliveries in JetStream; the intake now gives up on a message itself.
    await jsm.consumers.update(names.commandStream, COMMAND_CONSUMER, { max_deliver: 20 });

    const changed = { ...env, OPENSIM_INTAKE_ACK_WAIT_MS: '5000', OPENSIM_INTAKE_MAX_IN_FLIGHT: '64', OPENSIM_USAGE_ACK_WAIT_MS: '9000', LOG_LEVEL: 'info' };
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const second = await startSystem(loadConfig(changed), logger, allRoles());
    try {
      await eventually(async () => (await jsm.consumers.info(names.commandStream, COMMAND_CONSUMER)).config.ack_wait === 5_000_000_000, 20_000);
      await eventually(async () => (await jsm.consumers.info(names.usageStream, USAGE_CONSUMER)).config.ack_wait === 9_000_000_000, 20_000);
    } finally {
      await second.stop();
    }
    expect((await jsm.consumers.info(names.commandStream, COMMAND_CONSUMER)).config).toMatchObject({ ack_wait: 5_000_000_000, max_ack_pending: 64, max_deliver: -1 });
    const updated = lines.map((l) => JSON.parse(l) as { msg: string; consumer?: string; changes?: Record<string, { from: number; to: number }> }).filter((l) => l.msg === 'durable consumer updated to the configuration');
    expect(updated.find((l) => l.consumer === COMMAND_CONSUMER)?.changes).toEqual({ ack_wait: { from: 30_000_000_000, to: 5_000_000_000 }, max_ack_pending: { from: 256, to: 64 }, max_deliver: { from: 20, to: -1 } });
  }, 60_000);
});
