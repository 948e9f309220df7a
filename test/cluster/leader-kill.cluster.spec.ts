import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { connect, headers, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { natsServers } from '../../src/infra/nats-options.js';
import { naming } from '../../src/messaging/subjects.js';
import type { LineDocument } from '../../src/store/documents.js';
import { seedFixture } from '../../src/store/seed.js';
import { check, clean } from '../nemesis/checker.js';
import { buildWorkload, type Workload } from '../nemesis/workload.js';
import { eventually, spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { isolatedEnv, PipelineClient } from '../support/pipeline.js';
import { startNode, killNode, type ClusterNode } from './cluster-servers.js';
import { StreamReader } from './stream-reader.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PUBLISH_MS = 12_000;
/** Into the publishing, when the leader's node is killed. */
const KILL_AT_MS = 4_000;
/** How long the node stays down: the cluster runs on two nodes meanwhile. */
const DOWN_MS = 6_000;

/**
 * kill -9 of the NATS node that leads the command stream, in the middle of a burst of plan
 * changes and usage records, with two `opensim start` processes running: JetStream elects
 * another leader among the two replicas left, the processes and the upstream reconnect to the
 * other nodes, and afterwards every request has exactly one outcome, the one publish order
 * implies, each applied once, and every usage record is counted once (the nemesis checker).
 */
describe('NATS cluster: the command stream leader killed mid-burst', () => {
  const processes: OpensimProcess[] = [];
  let client: PipelineClient | undefined;
  let upstream: NatsConnection | undefined;
  let killed: ClusterNode | undefined;

  afterAll(async () => {
    for (const p of processes) await p.kill('SIGTERM');
    if (killed) await startNode(killed).catch(() => {});
    await upstream?.close();
    await client?.cleanup();
  });

  // Seeding, two processes starting, 12 s of burst, up to 90 s to settle: the checker, not a timeout, says what is missing.
  it('nothing lost, duplicated or wrongly decided; usage counted once', { timeout: 240_000 }, async () => {
    const env = isolatedEnv({
      OPENSIM_PARTITIONS: '8',
      OPENSIM_RETRY_ATTEMPTS: '60',
      OPENSIM_RETRY_BASE_MS: '100',
      OPENSIM_USAGE_UPDATED_INTERVAL_MS: '1000',
      OPENSIM_INTAKE_ACK_WAIT_MS: '5000',
      OPENSIM_USAGE_ACK_WAIT_MS: '5000',
      LOG_LEVEL: 'info',
    });
    client = await PipelineClient.open(env);
    const workload = buildWorkload(env.OPENSIM_SUBJECT_PREFIX!, { services: 20, linesPerService: 5, changesPerLine: 5, usagePerLine: 4, refusedShare: 0.2 }, 17, new Date());
    await seedFixture(client.db, workload.fixture);
    for (let i = 0; i < 2; i++) processes.push(spawnOpensim(['start'], env));
    await Promise.all(processes.map((p) => p.waitForLog((l) => l.msg === 'opensim started', 90_000)));

    upstream = await connect({ servers: natsServers(env.NATS_URL!), maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'cluster-upstream' });
    const jsm = await upstream.jetstreamManager();
    const names = naming(env.OPENSIM_SUBJECT_PREFIX!);
    // The roles create the streams as they start consuming: 3 replicas each, on three nodes.
    const replicas = () => Promise.all([names.commandStream, names.usageStream, names.eventStream].map((s) => jsm.streams.info(s).then((i) => i.config.num_replicas, () => 0)));
    await eventually(async () => (await replicas()).every((n) => n === 3), 30_000).catch(async () => {
      throw new Error(`streams not at 3 replicas within 30 s: ${(await replicas()).join(', ')}`);
    });

    const publishing = publish(upstream, workload);
    await sleep(KILL_AT_MS);
    const leaders = await streamLeaders(jsm, [names.commandStream, names.usageStream, names.eventStream]);
    killed = leaders[names.commandStream] as ClusterNode;
    const pid = killNode(killed);
    const killedAt = Date.now();
    const newLeader = await electedLeader(jsm, names.commandStream, killed);
    const electionMs = Date.now() - killedAt;
    await sleep(Math.max(0, DOWN_MS - electionMs));
    await startNode(killed);
    killed = undefined;
    const { retried } = await publishing;

    const reader = new StreamReader(jsm, names.eventStream);
    await settle(workload, reader, client, 90_000);
    const lines = await client.db.collection<LineDocument>('lines').find({}).toArray();
    const verdict = check(workload, {
      outcomes: reader.outcomes(),
      history: new Map(lines.map((l) => [l._id, l.line.planHistory.slice(1).map((h) => h.requestId ?? '?')])),
      usageBytes: new Map(lines.map((l) => [l._id, l.month ? l.month.usage.frBytes + l.month.usage.euBytes : 0])),
    });
    const reconnects = processes.map((p) => p.logs.filter((l) => l.msg === 'nats reconnect').length);
    console.info(
      `leader kill: stream leaders before ${JSON.stringify(leaders)}; killed ${leaders[names.commandStream]} (pid ${pid}) at ${KILL_AT_MS} ms into a ${PUBLISH_MS} ms burst; ` +
        `new command stream leader ${newLeader} after ${electionMs} ms; upstream publishes retried ${retried}; process reconnections ${reconnects.join(', ')}; ` +
        `verdict ${JSON.stringify(verdict.requests)} usage ${JSON.stringify(verdict.usage)} lines out of order ${verdict.linesOutOfOrder}`,
    );
    if (verdict.problems.length > 0) {
      // What the processes said, for the one who reads the failure.
      const dir = resolve(import.meta.dirname, '../../test-artifacts/leader-kill');
      mkdirSync(dir, { recursive: true });
      processes.forEach((p, i) => writeFileSync(resolve(dir, `${env.OPENSIM_SUBJECT_PREFIX}-p${i}.log`), p.logs.map((l) => JSON.stringify(l)).join('\n')));
      console.info(`process logs in ${dir}`);
    }
    expect(newLeader).not.toBe(leaders[names.commandStream]);
    expect(verdict.problems, 'first problems found').toEqual([]);
    expect(clean(verdict)).toBe(true);
    expect(verdict.requests.ok).toBe(workload.messages.filter((m) => m.kind === 'plan-change').length);
  });
});

/** A patient upstream, as the nemesis suite's: in publish order, paced, the same Nats-Msg-Id again until acknowledged. */
async function publish(nc: NatsConnection, workload: Workload): Promise<{ retried: number }> {
  const js = nc.jetstream();
  const start = Date.now();
  let retried = 0;
  for (const [i, message] of workload.messages.entries()) {
    const due = start + (i * PUBLISH_MS) / workload.messages.length;
    if (due > Date.now()) await sleep(due - Date.now());
    const h = headers();
    h.set('Nats-Msg-Id', message.msgId);
    for (let attempt = 1; ; attempt++) {
      try {
        await js.publish(message.subject, JSON.stringify(message.body), { headers: h, timeout: 2000 });
        break;
      } catch {
        retried += 1;
        await sleep(Math.min(1000, 100 * attempt));
      }
    }
  }
  return { retried };
}

async function streamLeaders(jsm: JetStreamManager, streams: string[]): Promise<Record<string, string>> {
  const leaders: Record<string, string> = {};
  for (const stream of streams) {
    const leader = (await jsm.streams.info(stream)).cluster?.leader;
    if (!leader) throw new Error(`${stream} has no leader (cluster info: ${JSON.stringify((await jsm.streams.info(stream)).cluster)})`);
    leaders[stream] = leader;
  }
  return leaders;
}

/** The stream's leader once another node than `former` leads it. */
async function electedLeader(jsm: JetStreamManager, stream: string, former: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const leader = await jsm.streams
      .info(stream)
      .then((info) => info.cluster?.leader)
      .catch(() => undefined);
    if (leader && leader !== former) return leader;
    await sleep(100);
  }
  throw new Error(`no new leader of ${stream} within 30 s after ${former} was killed`);
}

/** Until every request has an outcome and every usage byte is counted, or the time is up (the checker then says what is missing). */
async function settle(workload: Workload, reader: StreamReader, client: PipelineClient, timeoutMs: number): Promise<void> {
  const requests = workload.messages.filter((m) => m.kind === 'plan-change').map((m) => m.msgId);
  const usageTotal = workload.messages.reduce((sum, m) => sum + (m.kind === 'usage' ? m.body.bytes : 0), 0);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await reader.poll();
    const outcomes = reader.outcomes();
    const lines = await client.db.collection<LineDocument>('lines').find({}, { projection: { month: 1 } }).toArray();
    const counted = lines.reduce((sum, l) => sum + (l.month ? l.month.usage.frBytes + l.month.usage.euBytes : 0), 0);
    if (requests.every((id) => outcomes.has(id)) && counted >= usageTotal) break;
    await sleep(500);
  }
  // A duplicate would come after the last outcome: give it time to show.
  await sleep(2_000);
  await reader.poll();
}
