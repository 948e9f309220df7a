import { afterEach, describe, expect, it } from 'vitest';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from 'nats';
import type { RunningSystem } from '../../src/app/system.js';
import { naming } from '../../src/messaging/subjects.js';
import { COMMAND_CONSUMER } from '../../src/producers/command-intake.js';
import { countedClaims, publishUsage, until, usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'RETN';
const HOUR_NS = 3600 * 1e9;
/** Configured limits, other than the defaults so the test sees them applied. */
const LIMITS = { OPENSIM_INBOUND_MAX_AGE_HOURS: '48', OPENSIM_EVENTS_MAX_AGE_HOURS: '24', OPENSIM_EVENTS_MAX_MIB: '64', OPENSIM_STREAMS_CHECK_MS: '500' };

const request = (i: number) => ({
  requestId: `ret-${i}`, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L${i}`, targetResourceId: `${ACC}-L${i}-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00',
});

async function configs(jsm: JetStreamManager, prefix: string): Promise<Record<string, StreamConfig>> {
  const names = naming(prefix);
  const entries = await Promise.all([names.commandStream, names.usageStream, names.eventStream, names.advisoryStream].map(async (s) => [s, (await jsm.streams.info(s)).config] as const));
  return Object.fromEntries(entries);
}

/** What every stream should read once the system has checked it (docs/operations.md). */
function expectConfigured(all: Record<string, StreamConfig>, prefix: string): void {
  const names = naming(prefix);
  // COMMANDS keeps what was taken in, for the horizon: the record Redis loses is taken in again from there.
  expect(all[names.commandStream]).toMatchObject({ retention: RetentionPolicy.Limits, max_age: 48 * HOUR_NS, duplicate_window: 120e9 });
  expect(all[names.usageStream]).toMatchObject({ retention: RetentionPolicy.Interest, max_age: 48 * HOUR_NS });
  expect(all[names.eventStream]).toMatchObject({ retention: RetentionPolicy.Limits, max_age: 24 * HOUR_NS, max_bytes: 64 * 2 ** 20 });
  expect(all[names.advisoryStream]).toMatchObject({ retention: RetentionPolicy.Limits, max_age: 30 * 24 * HOUR_NS });
}

describe('stream retention at start-up', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    system = undefined;
    await client?.cleanup();
  });

  it('after start-up each stream, read back from JetStream, has the configured retention and limits; a command taken in stays in COMMANDS, usage taken in leaves USAGE', async () => {
    const env = isolatedEnv(LIMITS);
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    system = await startInProcess(env);
    const jsm = await client.nc.jetstreamManager();
    await until(() => configs(jsm, client!.prefix), (all) => Object.values(all).every((c) => c.max_age > 0) && all[naming(client!.prefix).usageStream]!.retention === RetentionPolicy.Interest);
    expectConfigured(await configs(jsm, client.prefix), client.prefix);

    await client.planChange(request(0));
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'ret-0');
    // Limits retention: acknowledged by the intake, the command is still there, for a Redis that loses its job.
    await new Promise((r) => setTimeout(r, 500));
    expect((await jsm.streams.info(naming(client!.prefix).commandStream)).state.messages).toBe(1);
  });

  it('older, unlimited streams holding unconsumed messages are updated in place, and every unconsumed command and usage record is still taken in', async () => {
    const env = isolatedEnv(LIMITS);
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 5));
    const names = naming(client.prefix);
    const jsm = await client.nc.jetstreamManager();
    // The streams as the code before this change created them: limits retention, no age or size bound.
    for (const [name, subjects] of [[names.commandStream, [names.planChangeCommands, names.resourceOrderCommands]], [names.usageStream, [names.usage]], [names.eventStream, names.eventSubjects]] as const) {
      await jsm.streams.add({ name, subjects: [...subjects], retention: RetentionPolicy.Limits, storage: StorageType.File, duplicate_window: 120e9 });
    }
    await jsm.streams.add({ name: names.advisoryStream, subjects: [names.maxDeliveriesAdvisories], retention: RetentionPolicy.Limits, storage: StorageType.File, duplicate_window: 120e9, max_age: 30 * 24 * HOUR_NS });
    // An older intake acknowledged the first two commands; three wait for it.
    await jsm.consumers.add(names.commandStream, { durable_name: COMMAND_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subjects: [names.planChangeCommands, names.resourceOrderCommands], max_ack_pending: 256, ack_wait: 30e9, max_deliver: 20 });
    for (let i = 0; i < 5; i++) await client.planChange(request(i));
    const older = await client.nc.jetstream().consumers.get(names.commandStream, COMMAND_CONSUMER);
    for (let i = 0; i < 2; i++) (await older.next({ expires: 2000 }))!.ack();
    await client.nc.flush();
    // Usage published while no usage consumer ever existed; events a dashboard may still read.
    await publishUsage(client, [1, 2, 3].map((n) => usageRecord(ACC, `${ACC}-L0`, `ret-u-${n}`, n * 1000, new Date().toISOString())));
    await client.nc.jetstream().publish(`${client.prefix}.evt.plan-change.${ACC}`, '{"old":true}');
    expect((await jsm.streams.info(names.commandStream)).state.messages).toBe(5);

    system = await startInProcess(env);
    await until(() => configs(jsm, client!.prefix), (all) => all[names.usageStream]!.retention === RetentionPolicy.Interest && all[names.commandStream]!.max_age > 0 && all[names.eventStream]!.max_age > 0);
    expectConfigured(await configs(jsm, client.prefix), client.prefix);

    // Nothing unconsumed lost: the three commands waiting get their outcome, the usage is counted.
    // The two the older intake acknowledged have no outcome in MongoDB: to this system that is what
    // a Redis that lost them looks like, so they are taken in again (docs/architecture.md, "What each
    // server holds"); one that had been decided would be passed as a duplicate.
    const outcomes = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied', 5);
    expect(outcomes.map((e) => e.data.requestId).sort()).toEqual(['ret-0', 'ret-1', 'ret-2', 'ret-3', 'ret-4']);
    await until(() => countedClaims(client!), (n) => n === 3);
    const line = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });
    expect(line!.month.usage.frBytes).toBe(6000);
    // Usage taken in is dropped (interest); the commands are kept for the horizon (limits), the events too.
    await until(() => jsm.streams.info(names.usageStream), (info) => info.state.messages === 0, 10_000);
    expect((await jsm.streams.info(names.commandStream)).state.messages).toBe(5);
    expect((await jsm.streams.getMessage(names.eventStream, { seq: 1 })).json()).toEqual({ old: true });
    // Each once.
    await new Promise((r) => setTimeout(r, 500));
    expect(client.eventsOf('opensim.plan-change.applied').map((e) => e.data.requestId).sort()).toEqual(['ret-0', 'ret-1', 'ret-2', 'ret-3', 'ret-4']);
  });
});
