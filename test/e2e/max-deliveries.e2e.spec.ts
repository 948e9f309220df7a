import { afterEach, describe, expect, it } from 'vitest';
import { naming } from '../../src/messaging/subjects.js';
import { COMMAND_CONSUMER } from '../../src/producers/command-intake.js';
import { opensimCli } from '../support/cli.js';
import { eventually, spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'MAXD';

describe('JetStream max deliveries', () => {
  let client: PipelineClient | undefined;
  const processes: OpensimProcess[] = [];

  afterEach(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    await client?.cleanup();
  });

  it('a command that crashes the intake each time it is delivered is dead-lettered (MAX_DELIVERIES, failed outcome), then retried once fixed', async () => {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_INTAKE_MAX_DELIVER: '2', OPENSIM_INTAKE_ACK_WAIT_MS: '1000' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    await client.ensureStreams();
    const body = { requestId: 'poison-1', clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00' };
    await client.planChange(body);

    // Two deliveries, two crashes (the process kills itself while taking the message in).
    for (let delivery = 1; delivery <= 2; delivery++) {
      const crashing = spawnOpensim(['start'], { ...env, OPENSIM_FAILPOINT: 'intake:before-enqueue' });
      processes.push(crashing);
      await crashing.exited;
      expect(crashing.child.signalCode).toBe('SIGKILL');
    }

    // A healthy process: JetStream gives up on the message and says so; the collector dead-letters it.
    processes.push(spawnOpensim(['start'], env));
    const [failed] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.failed' && e.data.requestId === 'poison-1', 1, 30_000);
    expect(failed!.data).toMatchObject({ requestId: 'poison-1', clientAccountId: ACC, lineId: `${ACC}-L0`, attempts: 2 });
    const stream = naming(client.prefix).commandStream;
    const letter = await client.db.collection('deadLetters').findOne({ _id: `${stream}:1` as never });
    expect(letter).toMatchObject({ reason: 'MAX_DELIVERIES', kind: 'plan-change', requestId: 'poison-1', clientAccountId: ACC, attempts: 2, subject: `${client.prefix}.cmd.plan-change.${ACC}`, headers: { 'Nats-Msg-Id': 'poison-1' } });
    expect(JSON.parse(letter!.payload as string)).toEqual(body);
    expect(letter!.lastError).toMatch(new RegExp(`gave up after 2 deliveries to consumer '${client.intakeConsumer(ACC)}'`));
    expect((await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never }))!.version).toBe(0);
    await eventually(async () => (await client!.db.collection('deadLetters').findOne({ _id: `${stream}:1` as never }))!.outbox.length === 0);

    // The cause is gone (this process does not crash): retry goes through the normal pipeline.
    const retried = await opensimCli('dlq', ['retry', `${stream}:1`, '--yes', '--by', 'oncall'], env);
    expect(retried.code).toBe(0);
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'poison-1', 1, 30_000);
    const line = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });
    expect(line).toMatchObject({ version: 1, decidedRequestIds: ['poison-1'] });
    expect(new Set(client.events.filter((e) => e.data.requestId === 'poison-1').map((e) => e.id))).toEqual(new Set(['plan-change:poison-1:failed', 'plan-change:poison-1:applied']));
  }, 90_000);

  it('a command whose ack was lost twice (crash after the enqueue) reached the pipeline: it is applied once and not dead-lettered', async () => {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_INTAKE_MAX_DELIVER: '2', OPENSIM_INTAKE_ACK_WAIT_MS: '1000' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    // A system ran before: the stream is partitioned, and the partitions' consumers stay (an
    // unpartitioned message's consumer is deleted once drained, and redelivers nothing).
    await (await startInProcess(env)).stop();
    await client.planChange({ requestId: 'acked-late', clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00' });
    for (let delivery = 1; delivery <= 2; delivery++) {
      const crashing = spawnOpensim(['start'], { ...env, OPENSIM_FAILPOINT: 'intake:after-enqueue' });
      processes.push(crashing);
      await crashing.exited;
      expect(crashing.child.signalCode).toBe('SIGKILL');
    }
    const healthy = spawnOpensim(['start'], env);
    processes.push(healthy);
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'acked-late', 1, 30_000);
    // Taken in once (the intake's cursor passed it): its redelivery is only acknowledged.
    const jsm = await client.nc.jetstreamManager();
    await eventually(async () => (await jsm.consumers.list(naming(client!.prefix).commandStream).next()).filter((c) => c.name.startsWith(COMMAND_CONSUMER)).every((c) => c.num_ack_pending === 0), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await client.db.collection('deadLetters').countDocuments({})).toBe(0);
    expect(new Set(client.events.filter((e) => e.data.requestId === 'acked-late').map((e) => e.id))).toEqual(new Set(['plan-change:acked-late:applied']));
    expect((await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never }))!.version).toBe(1);
  }, 90_000);
});
