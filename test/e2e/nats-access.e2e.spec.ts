import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import type { CloudEvent } from '../../src/contract/messages.js';
import type { Fixture } from '../../src/contract/fixture.js';
import { naming, publishedSubject } from '../../src/messaging/subjects.js';
import { seedFixture } from '../../src/store/seed.js';
import { commandQueueName } from '../../src/queues/command-queues.js';
import { opensimCli } from '../support/cli.js';
import { startNatsServer, type OwnNatsServer } from '../support/nats-server.js';
import { CATALOG, fleet, isolatedEnv, startInProcess } from '../support/pipeline.js';

const SAMPLE = resolve(import.meta.dirname, '../../deploy/nats/opensim-access.conf');
const USERS = ['OPENSIM_WORKER', 'OPENSIM_OPERATOR', 'ORDERING_A', 'DASHBOARD_A', 'ORDERING_B', 'DASHBOARD_B'] as const;
const passwords = Object.fromEntries(USERS.map((u) => [`${u}_PASSWORD`, `pw${randomBytes(12).toString('hex')}`])) as Record<`${(typeof USERS)[number]}_PASSWORD`, string>;

const planChange = (acc: 'A' | 'B', requestId: string) => ({
  requestId, clientAccountId: acc, serviceRef: `SVC-${acc}`, lineId: `${acc}-L0`, targetResourceId: `${acc}-L0-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00',
});

/** A preview body: the account's line to a spare 5 GiB resource (applied, or rejected SAME_PLAN once the first test moved it to 5 GiB). */
const preview = (acc: 'A' | 'B') => ({ clientAccountId: acc, serviceRef: `SVC-${acc}`, lineId: `${acc}-L0`, targetResourceId: `${acc}-L0-FPC367678-1` });

/** Collects what a subscription receives, and the error that closes it (a permissions violation). */
function collect(sub: Subscription): { events: CloudEvent[]; closed: Promise<Error | undefined> } {
  const events: CloudEvent[] = [];
  const closed = (async () => {
    try {
      for await (const m of sub) events.push(m.json<CloudEvent>());
      return undefined;
    } catch (err) {
      return err as Error;
    }
  })();
  return { events, closed };
}

async function until(probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('access control with the sample NATS configuration (deploy/nats)', () => {
  let dir: string;
  let server: OwnNatsServer;
  let env: Record<string, string>;
  let system: RunningSystem | undefined;
  let prefix: string;
  const connections: NatsConnection[] = [];
  const as = async (user: string, password: string, inboxPrefix?: string) => {
    const nc = await connect({ servers: server.url, user, pass: password, ...(inboxPrefix ? { inboxPrefix } : {}) });
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    env = isolatedEnv({ OPENSIM_MAX_PAYLOAD_BYTES: '1024' });
    prefix = env.OPENSIM_SUBJECT_PREFIX!;
    // The sample as it is, with its subject prefix `opensim` replaced by this test's random one
    // (queue names derive from it and Redis is shared with other tests).
    dir = await mkdtemp(join(tmpdir(), 'opensim-nats-'));
    const access = (await readFile(SAMPLE, 'utf8')).replaceAll('"opensim.', `"${prefix}.`);
    await writeFile(join(dir, 'opensim-access.conf'), access);
    await writeFile(join(dir, 'server.conf'), `listen: 127.0.0.1:-1\njetstream { store_dir: "${join(dir, 'js')}" }\ninclude ./opensim-access.conf\n`);
    server = await startNatsServer(join(dir, 'server.conf'), passwords);
    env = { ...env, NATS_URL: server.url, NATS_USER: 'opensim-worker', NATS_PASSWORD: passwords.OPENSIM_WORKER_PASSWORD };

    const mongo = await new MongoClient(env.MONGO_URL!).connect();
    const a = fleet('A', 1);
    const b = fleet('B', 1);
    await seedFixture(mongo.db(), { ...CATALOG, services: [...a.services, ...b.services], resources: [...a.resources, ...b.resources], lines: [...a.lines, ...b.lines] } as Fixture);
    await mongo.close();
    // The worker's user is enough for the whole system: streams, consumers, pulling, publishing.
    system = await startInProcess(env);
  });

  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => {});
    await system?.stop();
    const redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null });
    for (let p = 0; p < Number(env.OPENSIM_PARTITIONS); p++) {
      const q = new Queue(commandQueueName(prefix, p), { connection: redis });
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    await redis.quit();
    const mongo = await new MongoClient(env.MONGO_URL!).connect();
    await mongo.db().dropDatabase();
    await mongo.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("account A's credentials cannot publish a command for B nor read B's events; each account's own flow works", async () => {
    const dashboardA = await as('dashboard-A', passwords.DASHBOARD_A_PASSWORD);
    const dashboardB = await as('dashboard-B', passwords.DASHBOARD_B_PASSWORD);
    const outcomesA = collect(dashboardA.subscribe(`${prefix}.evt.*.A`));
    const monitoringA = collect(dashboardA.subscribe(`${prefix}.mon.A.>`));
    const outcomesB = collect(dashboardB.subscribe(`${prefix}.evt.*.B`));
    // A's dashboard asking for B's monitoring or outcome events, or for everything: refused by the server.
    const spyMonB = collect(dashboardA.subscribe(`${prefix}.mon.B.>`));
    const spyEvtB = collect(dashboardA.subscribe(`${prefix}.evt.plan-change.B`));
    const spyAll = collect(dashboardA.subscribe(`${prefix}.>`));
    await dashboardA.flush();
    await dashboardB.flush();

    const orderingA = await as('ordering-A', passwords.ORDERING_A_PASSWORD, '_INBOX_A');
    const orderingB = await as('ordering-B', passwords.ORDERING_B_PASSWORD, '_INBOX_B');
    // Each ordering system publishes its own commands through JetStream (stored, acknowledged).
    const ackA = await orderingA.jetstream().publish(`${prefix}.cmd.plan-change.A`, JSON.stringify(planChange('A', 'req-A')), { msgID: 'req-A' });
    const ackB = await orderingB.jetstream().publish(`${prefix}.cmd.plan-change.B`, JSON.stringify(planChange('B', 'req-B')), { msgID: 'req-B' });
    expect(ackA.duplicate || ackB.duplicate).toBe(false);

    // A's ordering system publishing a command for B: refused, through JetStream or core NATS.
    await expect(orderingA.jetstream().publish(`${prefix}.cmd.plan-change.B`, JSON.stringify(planChange('B', 'forged-by-A')), { msgID: 'forged-1', timeout: 2000 })).rejects.toThrow(/permissions violation/i);
    orderingA.publish(`${prefix}.cmd.resource-order.B`, JSON.stringify({ orderId: 'forged-2' }));
    await orderingA.flush().catch(() => {});
    // A's dashboard publishes no command (only its own account's queries).
    dashboardA.publish(`${prefix}.cmd.plan-change.A`, JSON.stringify(planChange('A', 'from-dashboard')));
    await dashboardA.flush().catch(() => {});

    for (const spy of [spyMonB, spyEvtB, spyAll]) {
      const err = await spy.closed;
      expect(err?.message).toMatch(/permissions violation/i);
      expect(spy.events).toEqual([]);
    }

    await until(() => outcomesA.events.some((e) => e.type === 'opensim.plan-change.applied') && outcomesB.events.some((e) => e.type === 'opensim.plan-change.applied'));
    await until(() => monitoringA.events.some((e) => e.type === 'opensim.envelope.recomputed'));
    // Let anything that should not arrive have its chance.
    await new Promise((r) => setTimeout(r, 500));
    expect(outcomesA.events.map((e) => [e.type, e.data.requestId])).toEqual([['opensim.plan-change.applied', 'req-A']]);
    expect(monitoringA.events.every((e) => e.data.clientAccountId === 'A' && e.data.lineId === 'A-L0')).toBe(true);
    expect(outcomesB.events.map((e) => [e.type, e.data.requestId])).toEqual([['opensim.plan-change.applied', 'req-B']]);

    // The command stream stored exactly two commands, the legitimate ones: nothing forged reached it.
    // (Taken in, they may have left it already: interest retention. The sequence counts every message stored.)
    const worker = await as('opensim-worker', passwords.OPENSIM_WORKER_PASSWORD);
    const jsm = await worker.jetstreamManager();
    const stream = naming(prefix).commandStream;
    const info = await jsm.streams.info(stream);
    expect(info.state.last_seq).toBe(2);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
      // Stored under their account's intake partition (the stream's subject transform).
      if (m) expect([`${prefix}.cmd.plan-change.A req-A`, `${prefix}.cmd.plan-change.B req-B`]).toContain(`${publishedSubject(prefix, m.subject)} ${m.json<{ requestId: string }>().requestId}`);
    }
  });

  it('a payload over OPENSIM_MAX_PAYLOAD_BYTES is refused as INVALID_PAYLOAD without being parsed', async () => {
    const dashboardA = await as('dashboard-A', passwords.DASHBOARD_A_PASSWORD);
    const outcomesA = collect(dashboardA.subscribe(`${prefix}.evt.*.A`));
    await dashboardA.flush();
    const orderingA = await as('ordering-A', passwords.ORDERING_A_PASSWORD, '_INBOX_A');
    const big = { ...planChange('A', 'too-big'), requestedBy: 'x'.repeat(2000) };
    await orderingA.jetstream().publish(`${prefix}.cmd.plan-change.A`, JSON.stringify(big), { msgID: 'too-big' });
    await until(() => outcomesA.events.length > 0);
    expect(outcomesA.events[0]).toMatchObject({ type: 'opensim.plan-change.rejected', data: { requestId: 'too-big', reason: 'INVALID_PAYLOAD' } });
    expect(String(outcomesA.events[0]!.data.message)).toMatch(/over the limit of 1024/);
  });

  it("account A's dashboard queries A's line, requests and previews, with replies to its own inbox, and cannot query B", async () => {
    const dashboardA = await as('dashboard-A', passwords.DASHBOARD_A_PASSWORD, '_INBOX_DASHBOARD_A');
    const ask = async (kind: 'line' | 'request' | 'plan-change-preview', account: string, body: object) =>
      (await dashboardA.request(`${prefix}.qry.${kind}.${account}`, JSON.stringify(body), { timeout: 3000 })).json<Record<string, unknown>>();

    expect(await ask('line', 'A', { clientAccountId: 'A', lineId: 'A-L0' })).toMatchObject({ lineId: 'A-L0', clientAccountId: 'A', plan: { productRef: expect.any(String) } });
    expect(await ask('request', 'A', { clientAccountId: 'A', requestId: 'never-sent-A' })).toMatchObject({ requestId: 'never-sent-A', status: 'unknown' });
    expect(await ask('plan-change-preview', 'A', preview('A'))).toMatchObject({ outcome: expect.stringMatching(/^(applied|rejected)$/), crossedAtOnce: expect.any(Array) });
    // B's subjects: the server refuses the publish, so no query of B's ever reaches the system.
    await expect(ask('line', 'B', { clientAccountId: 'B', lineId: 'B-L0' })).rejects.toThrow(/permissions violation/i);
    await expect(ask('request', 'B', { clientAccountId: 'B', requestId: 'req-B' })).rejects.toThrow(/permissions violation/i);
    await expect(ask('plan-change-preview', 'B', preview('B'))).rejects.toThrow(/permissions violation/i);
    // Asking with the default inbox prefix: its replies could not be read, so the server refuses the inbox subscription.
    const withoutOwnInbox = await as('dashboard-A', passwords.DASHBOARD_A_PASSWORD);
    await expect(withoutOwnInbox.request(`${prefix}.qry.line.A`, JSON.stringify({ clientAccountId: 'A', lineId: 'A-L0' }), { timeout: 2000 })).rejects.toThrow(/permissions violation/i);
    // B's dashboard still gets its own answers.
    const dashboardB = await as('dashboard-B', passwords.DASHBOARD_B_PASSWORD, '_INBOX_DASHBOARD_B');
    const viewB = (await dashboardB.request(`${prefix}.qry.line.B`, JSON.stringify({ clientAccountId: 'B', lineId: 'B-L0' }), { timeout: 3000 })).json<Record<string, unknown>>();
    expect(viewB).toMatchObject({ lineId: 'B-L0', clientAccountId: 'B' });
  });

  it("account A's ordering system previews a plan change of A before sending it, with replies to its own inbox, and cannot preview B's", async () => {
    const orderingA = await as('ordering-A', passwords.ORDERING_A_PASSWORD, '_INBOX_A');
    const ask = async (account: 'A' | 'B') => (await orderingA.request(`${prefix}.qry.plan-change-preview.${account}`, JSON.stringify(preview(account)), { timeout: 3000 })).json<Record<string, unknown>>();
    expect(await ask('A')).toHaveProperty('outcome');
    await expect(ask('B')).rejects.toThrow(/permissions violation/i);
    // Only the preview among the queries: a line view is the dashboard's.
    await expect(orderingA.request(`${prefix}.qry.line.A`, JSON.stringify({ clientAccountId: 'A', lineId: 'A-L0' }), { timeout: 2000 })).rejects.toThrow(/permissions violation/i);
  });

  it("the worker's user publishes what its console sends, a plan change and the cancel of one, and no other command", async () => {
    const worker = await as('opensim-worker', passwords.OPENSIM_WORKER_PASSWORD);
    const outcomes = collect(worker.subscribe(`${prefix}.evt.plan-change.A`));
    await worker.flush();
    const cancel = { cancelId: 'console-cancel-1', clientAccountId: 'A', requestId: 'never-scheduled', requestedAt: new Date().toISOString() };
    await worker.jetstream().publish(`${prefix}.cmd.plan-change-cancel.A`, JSON.stringify(cancel), { msgID: cancel.cancelId });
    await until(() => outcomes.events.some((e) => e.data.cancelId === 'console-cancel-1'));
    expect(outcomes.events.find((e) => e.data.cancelId === 'console-cancel-1')).toMatchObject({ type: 'opensim.plan-change-cancel.rejected', data: { reason: 'NOT_SCHEDULED' } });
    const order = { orderId: 'from-worker', clientAccountId: 'A', serviceRef: 'SVC-A', resourceId: 'R-X', productRef: 'FPC367678', orderedAt: new Date().toISOString() };
    await expect(worker.jetstream().publish(`${prefix}.cmd.resource-order.A`, JSON.stringify(order), { msgID: 'from-worker', timeout: 2000 })).rejects.toThrow(/permissions violation/i);
  });

  it("the operator's user runs `opensim queues`; a wrong password is refused", async () => {
    const operatorEnv = { ...env, NATS_USER: 'opensim-operator', NATS_PASSWORD: passwords.OPENSIM_OPERATOR_PASSWORD, NATS_INBOX_PREFIX: '_INBOX_OPS' };
    const queues = await opensimCli('queues', ['--json'], operatorEnv);
    expect(queues.code).toBe(0);
    expect(JSON.parse(queues.out).intake).toMatchObject({ consumer: expect.stringMatching(/^command-intake-/), pending: 0 });
    await expect(connect({ servers: server.url, user: 'ordering-A', pass: 'wrong' })).rejects.toThrow(/authorization/i);
  });
});
