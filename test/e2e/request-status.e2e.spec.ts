import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { queryErrorSchema, requestStatusSchema } from '../../src/contract/queries.js';
import { collections } from '../../src/store/documents.js';
import { readRequestStatus } from '../../src/queries/request-status.js';
import { CommandQueues } from '../../src/queues/command-queue-client.js';
import { commandJobId, partitionOf } from '../../src/queues/command-queues.js';
import { until } from '../support/monitoring.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'RSTAT';

const request = (requestId: string) => ({
  requestId, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00',
});

describe('request status: pending and failed', () => {
  let client: PipelineClient | undefined;
  let proxy: TcpProxy | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    system = undefined;
    await proxy?.close();
    await client?.cleanup();
  });

  it('given a job waiting in its partition queue (no worker running), then the status is pending, looked up across every partition', async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    const queues = new CommandQueues(client.prefix, client.config.OPENSIM_PARTITIONS, client.redis);
    try {
      await queues.enqueue({ kind: 'plan-change', subject: `${client.prefix}.cmd.plan-change.${ACC}`, request: request('waits'), receivedAt: new Date().toISOString() });
      const deps = { collections: collections(client.db), queues: queues.queues };
      expect(await readRequestStatus(deps, 'waits', ACC)).toEqual({ requestId: 'waits', status: 'pending', reason: null, eventId: null, decidedAt: null, effectiveAt: null });
      expect(await readRequestStatus(deps, 'waits', 'ANOTHER')).toMatchObject({ error: { code: 'TENANT_MISMATCH' } });
      expect(await readRequestStatus(deps, 'not-there', ACC)).toMatchObject({ status: 'unknown' });
    } finally {
      await queues.close();
    }
  });

  it("given a finished job whose decision is on its line but not yet in requests (a crash between), then the status is the line's decision", async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    const queues = new CommandQueues(client.prefix, client.config.OPENSIM_PARTITIONS, client.redis);
    const queueName = queues.queueFor({ kind: 'plan-change', subject: '', request: request('half-done'), receivedAt: '' }).name;
    // A worker that finishes the job without deciding anything: only the line will say what happened.
    const connection = client.redis.duplicate();
    const worker = new Worker(queueName, async () => {}, { connection });
    try {
      await queues.enqueue({ kind: 'plan-change', subject: `${client.prefix}.cmd.plan-change.${ACC}`, request: request('half-done'), receivedAt: new Date().toISOString() });
      const deps = { collections: collections(client.db), queues: queues.queues };
      await until(() => readRequestStatus(deps, 'half-done', ACC), (s) => 'status' in s && s.status !== 'pending');
      expect(await readRequestStatus(deps, 'half-done', ACC)).toMatchObject({ status: 'unknown' });
      const decision = { requestId: 'half-done', clientAccountId: ACC, outcome: 'rejected', reason: 'STALE_REQUEST', eventId: 'plan-change:half-done:rejected', decidedAt: '2026-11-15T09:00:00.000Z' };
      await client.db.collection('lines').updateOne({ _id: `${ACC}-L0` as never }, { $set: { decisions: [decision] } });
      expect(await readRequestStatus(deps, 'half-done', ACC)).toEqual({ requestId: 'half-done', status: 'rejected', reason: 'STALE_REQUEST', eventId: 'plan-change:half-done:rejected', decidedAt: '2026-11-15T09:00:00.000Z', effectiveAt: null });
      // A schedule committed on the line only: scheduled, its effectiveAt read from the line's pending change.
      const scheduled = { ...decision, outcome: 'scheduled', reason: null, eventId: 'plan-change:half-done:scheduled' };
      await client.db.collection('lines').updateOne({ _id: `${ACC}-L0` as never }, { $set: { decisions: [scheduled], 'line.scheduledChange': { requestId: 'half-done', effectiveAt: '2026-11-30T23:00:00.000Z' } } });
      expect(await readRequestStatus(deps, 'half-done', ACC)).toEqual({ requestId: 'half-done', status: 'scheduled', reason: null, eventId: 'plan-change:half-done:scheduled', decidedAt: '2026-11-15T09:00:00.000Z', effectiveAt: '2026-11-30T23:00:00.000Z' });
      // Recorded `scheduled`, then the line committed its application and a crash came before the
      // record followed: the line's decision wins, with the effectiveAt the record kept.
      await client.db.collection('requests').insertOne({ _id: 'plan-change:half-done', kind: 'plan-change', lineId: `${ACC}-L0`, clientAccountId: ACC, outcome: 'scheduled', reason: null, eventId: 'plan-change:half-done:scheduled', decidedAt: '2026-11-15T09:00:00.000Z', effectiveAt: '2026-11-30T23:00:00.000Z', outbox: [] } as never);
      const applied = { ...decision, outcome: 'applied', reason: null, eventId: 'plan-change:half-done:applied', decidedAt: '2026-11-30T23:00:00.100Z' };
      await client.db.collection('lines').updateOne({ _id: `${ACC}-L0` as never }, { $set: { decisions: [scheduled, applied], 'line.planHistory': [{ requestId: 'half-done', effectiveAt: '2026-11-30T23:00:00.100Z' }] }, $unset: { 'line.scheduledChange': '' } });
      expect(await readRequestStatus(deps, 'half-done', ACC)).toEqual({ requestId: 'half-done', status: 'applied', reason: null, eventId: 'plan-change:half-done:applied', decidedAt: '2026-11-30T23:00:00.100Z', effectiveAt: '2026-11-30T23:00:00.100Z' });
    } finally {
      await worker.close();
      await connection.quit();
      await queues.close();
    }
  });

  it('given a request whose job spends its retries while MongoDB is unreachable, then the query and the API say UNAVAILABLE during the outage and failed after it, before and after dead-lettering', async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    proxy = await startTcpProxy(env.MONGO_URL!, 27017);
    const url = new URL(proxy.url(env.MONGO_URL!));
    url.searchParams.set('serverSelectionTimeoutMS', '500');
    // A long relay interval keeps the failed job in Redis until the relay's last pass at stop.
    const token = 'status-admin-token-0123456789';
    const systemEnv = { ...env, MONGO_URL: url.toString(), OPENSIM_RETRY_ATTEMPTS: '2', OPENSIM_RETRY_BASE_MS: '50', OPENSIM_RETRY_MAX_MS: '100', OPENSIM_RELAY_INTERVAL_MS: '600000', OPENSIM_ADMIN_TOKEN: token };
    system = await startInProcess(systemEnv);
    const api = () => fetch(`http://127.0.0.1:${system!.httpPort}/api/requests/doomed`, { headers: { authorization: `Bearer ${token}` } });
    const ask = async () => (await client!.nc.request(`${client!.prefix}.qry.request.${ACC}`, JSON.stringify({ clientAccountId: ACC, requestId: 'doomed' }), { timeout: 5000 })).json<Record<string, unknown>>();

    await proxy.cut();
    await client.planChange(request('doomed'));
    // Its job spends its retries: failed in BullMQ (the failure is recorded in MongoDB once it answers).
    const queue = client.queue(partitionOf(ACC, client.config.OPENSIM_PARTITIONS));
    const jobId = commandJobId({ kind: 'plan-change', subject: '', request: request('doomed'), receivedAt: '' });
    await until(() => queue.getJobState(jobId), (state) => state === 'failed', 30_000);
    await queue.close();
    expect(queryErrorSchema.parse(await ask()).error.code).toBe('UNAVAILABLE');
    const duringOutage = await api();
    expect([duringOutage.status, ((await duringOutage.json()) as { error: { code: string } }).error.code]).toEqual([503, 'UNAVAILABLE']);

    await proxy.restore();
    // MongoDB back, the failed job still in BullMQ's failed set (or its decision recorded): failed.
    const whileInRedis = requestStatusSchema.parse(await ask());
    expect(whileInRedis).toMatchObject({ requestId: 'doomed', status: 'failed', eventId: 'plan-change:doomed:failed', effectiveAt: null });
    expect(whileInRedis.decidedAt).not.toBeNull();
    expect(requestStatusSchema.parse(await (await api()).json())).toEqual(whileInRedis);

    // The relay's last pass moves it to the dead letters; the status stays failed, read from MongoDB.
    await system.stop();
    system = undefined;
    expect(await client.db.collection('deadLetters').countDocuments({ requestId: 'doomed' })).toBe(1);
    const queues = new CommandQueues(client.prefix, client.config.OPENSIM_PARTITIONS, client.redis);
    try {
      const afterCollection = await readRequestStatus({ collections: collections(client.db), queues: queues.queues }, 'doomed', ACC);
      expect(requestStatusSchema.parse(afterCollection)).toMatchObject({ status: 'failed', eventId: 'plan-change:doomed:failed' });
    } finally {
      await queues.close();
    }
  }, 90_000);
});

describe('request status of scheduled changes, through NATS', () => {
  const SCH = 'RSCHED';
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    system = undefined;
    await client?.cleanup();
  });

  const change = (requestId: string, line: number, effectiveAt: string) => ({
    requestId, clientAccountId: SCH, serviceRef: `SVC-${SCH}`, lineId: `${SCH}-L${line}`, targetResourceId: `${SCH}-L${line}-FPC367678-0`, requestedAt: new Date().toISOString(), effectiveAt,
  });
  const ask = async (requestId: string) => requestStatusSchema.parse((await client!.nc.request(`${client!.prefix}.qry.request.${SCH}`, JSON.stringify({ clientAccountId: SCH, requestId }), { timeout: 5000 })).json());
  const outcome = (requestId: string, type: string) => client!.waitForEvents((e) => e.type === `opensim.plan-change.${type}` && e.data.requestId === requestId, 1, 10_000);

  it('given a change scheduled, then cancelled, and another applied when due, then the status answers scheduled, cancelled and applied, each with its effectiveAt', async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    await client.seed(fleet(SCH, 2));
    system = await startInProcess(env);

    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    await client.planChange(change('later', 0, inAnHour));
    const [scheduled] = await outcome('later', 'scheduled');
    expect(await ask('later')).toEqual({ requestId: 'later', status: 'scheduled', reason: null, eventId: 'plan-change:later:scheduled', decidedAt: expect.any(String), effectiveAt: inAnHour });
    expect(Date.parse((await ask('later')).decidedAt!)).toBe(Date.parse(scheduled!.time));

    await client.publish(`cmd.plan-change-cancel.${SCH}`, { cancelId: 'later-cancel', clientAccountId: SCH, requestId: 'later', requestedAt: new Date().toISOString() }, 'later-cancel');
    await outcome('later', 'cancelled');
    // Cancelled: when it would have taken effect stays told.
    expect(await ask('later')).toEqual({ requestId: 'later', status: 'cancelled', reason: null, eventId: 'plan-change:later:cancelled', decidedAt: expect.any(String), effectiveAt: inAnHour });

    const soon = new Date(Date.now() + 1500).toISOString();
    await client.planChange(change('soon', 1, soon));
    await outcome('soon', 'scheduled');
    expect(await ask('soon')).toMatchObject({ status: 'scheduled', effectiveAt: soon });
    const [applied] = await outcome('soon', 'applied');
    // Applied: the instant it took effect (its appliedAt, at or after the effectiveAt asked).
    await until(() => ask('soon'), (s) => s.status === 'applied');
    expect(await ask('soon')).toEqual({ requestId: 'soon', status: 'applied', reason: null, eventId: 'plan-change:soon:applied', decidedAt: expect.any(String), effectiveAt: applied!.data.appliedAt });
    expect(Date.parse(String(applied!.data.appliedAt))).toBeGreaterThanOrEqual(Date.parse(soon));
  }, 60_000);
});
