import type { Subscription } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockStartingAt } from '../../src/runtime/clock.js';
import type { RunningSystem } from '../../src/app/system.js';
import { planChangePreviewSchema, queryErrorSchema, type PlanChangePreviewQuery } from '../../src/contract/queries.js';
import { naming } from '../../src/messaging/subjects.js';
import { GiB, publishUsage, until, usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'PRV';
const OTHER = 'PRVB';
const CLOCK = '2026-11-15T10:00:00+01:00';
const USED = 6 * GiB;

/** A plan-change body as the portal would preview it: 20 GiB → 5 GiB, no request id, no requestedAt. */
const downgrade = (line: string, extra: Partial<PlanChangePreviewQuery> = {}): PlanChangePreviewQuery => ({
  clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: line, targetResourceId: `${line}-FPC367678-0`, ...extra,
});

describe('plan-change preview over NATS request-reply (opensim.qry.plan-change-preview)', () => {
  let client: PipelineClient;
  let system: RunningSystem | undefined;
  const ask = async (body: unknown, account = ACC): Promise<Record<string, unknown>> => {
    const reply = await client.nc.request(`${client.prefix}.qry.plan-change-preview.${account}`, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5000 });
    return reply.json<Record<string, unknown>>();
  };
  const lineIds = [0, 1, 2].map((i) => `${ACC}-L${i}`);

  /** Everything a decision could write, read back: lines, their month archives and decision records, the resources, the streams' last sequences. */
  const snapshot = async () => {
    const db = client.db;
    const jsm = await client.nc.jetstreamManager();
    const names = naming(client.prefix);
    return {
      lines: await db.collection('lines').find({ clientAccountId: ACC }).sort({ _id: 1 }).toArray(),
      lineMonths: await db.collection('lineMonths').find({ lineId: { $in: lineIds } }).sort({ _id: 1 }).toArray(),
      resources: await db.collection('resources').find({ serviceRef: `SVC-${ACC}` }).sort({ _id: 1 }).toArray(),
      requests: await db.collection('requests').find({ clientAccountId: ACC }).toArray(),
      eventsLastSeq: (await jsm.streams.info(names.eventStream)).state.last_seq,
      commandsLastSeq: (await jsm.streams.info(names.commandStream)).state.last_seq,
    };
  };

  beforeAll(async () => {
    const env = isolatedEnv({ OPENSIM_USAGE_UPDATED_INTERVAL_MS: '100' });
    client = await PipelineClient.open(env);
    const own = fleet(ACC, 3);
    const other = fleet(OTHER, 1);
    await client.seed({ services: [...own.services, ...other.services], resources: [...own.resources, ...other.resources], lines: [...own.lines, ...other.lines] });
    system = await startInProcess(env, { clock: clockStartingAt(CLOCK) });
    // 6 GiB used on L0 and L1: under the 20 GiB plan's thresholds, past the 5 GiB plan's reduction and block.
    await publishUsage(client, [usageRecord(ACC, `${ACC}-L0`, 'prv-u0', USED, '2026-11-14T12:00:00+01:00'), usageRecord(ACC, `${ACC}-L1`, 'prv-u1', USED, '2026-11-14T12:00:00+01:00')]);
    await client.waitForEvents((e) => e.type === 'opensim.usage.updated' && (e.id === `usage:${ACC}-L0:prv-u0` || e.id === `usage:${ACC}-L1:prv-u1`), 2);
    // Quiet: nothing left to publish or to send later on either line.
    await until(
      () => client.db.collection('lines').find({ _id: { $in: [`${ACC}-L0`, `${ACC}-L1`] as never[] } }).toArray(),
      (docs) => docs.length === 2 && docs.every((d) => (d.outbox ?? []).length === 0 && !d.usageNotice?.dueAt && (d.usagePending ?? []).length === 0),
    );
  });

  afterAll(async () => {
    await system?.stop();
    await client?.cleanup();
  });

  it('given lines with usage, when previews of every kind are asked, then nothing changes: documents and versions, decision records, both streams; on the subjects only the queries themselves', async () => {
    const seen: string[] = [];
    const watch: Subscription = client.nc.subscribe(`${client.prefix}.>`, { callback: (_err, msg) => seen.push(msg.subject) });
    await client.nc.flush();
    const before = await snapshot();

    const replies = [
      await ask(downgrade(`${ACC}-L0`)),
      await ask(downgrade(`${ACC}-L0`, { effectiveAt: '2026-12-01T00:00:00+01:00' })),
      await ask(downgrade(`${ACC}-L0`, { requestId: 'prv-named', requestedAt: '2026-11-15T10:00:00+01:00' })),
      await ask(downgrade('NOPE')),
      await ask({ clientAccountId: ACC }),
    ];
    expect(replies.map((r) => r.outcome ?? (r.error as { code: string }).code)).toEqual(['applied', 'scheduled', 'applied', 'rejected', 'INVALID_PAYLOAD']);
    await new Promise((r) => setTimeout(r, 500)); // anything a preview set off would have its chance
    await client.nc.flush();
    watch.unsubscribe();

    const after = await snapshot();
    expect(after.lines.map((d) => [d._id, d.version])).toEqual(before.lines.map((d) => [d._id, d.version]));
    expect(after.resources.map((d) => [d._id, d.state, d.pv ?? null])).toEqual(before.resources.map((d) => [d._id, d.state, d.pv ?? null]));
    expect(after).toEqual(before);
    expect(seen).toEqual(Array(replies.length).fill(`${client.prefix}.qry.plan-change-preview.${ACC}`));
  });

  it('given 6 GiB used, when a downgrade to 5 GiB is previewed and then sent, then the preview listed BLOCK at once and agrees with the applied change', async () => {
    const line = `${ACC}-L1`;
    const body = downgrade(line, { requestId: 'prv-down', requestedAt: '2026-11-15T10:00:00+01:00' });
    const preview = planChangePreviewSchema.parse(await ask(body));
    expect(preview).toMatchObject({ outcome: 'applied', reason: null, crossedAtOnce: ['REDUCTION', 'BLOCK'], dataStateAfter: 'blocked', usage: { usedBytes: USED } });

    await client.planChange(body);
    const [applied] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'prv-down');
    const [recomputed] = await client.waitForEvents((e) => e.type === 'opensim.envelope.recomputed' && e.id === `envelope:${line}:2026-11:plan-change:prv-down`);
    const crossed = await client.waitForEvents((e) => e.type === 'opensim.threshold.crossed' && e.subject === line, 2);
    const data = applied!.data as Record<string, unknown> & { appliedAt: string; usage: { usedBytes: number } };
    expect({ envelope: preview.envelope, thresholds: preview.thresholds, overageExposureBytes: preview.overageExposureBytes, usedBytes: preview.usage?.usedBytes }).toEqual({
      envelope: data.envelope, thresholds: data.thresholds, overageExposureBytes: data.overageExposureBytes, usedBytes: data.usage.usedBytes,
    });
    expect(preview.envelope?.totalBytes).toBe(12_884_901_887); // BRIEF.md's worked example
    expect(crossed.map((e) => e.data.threshold)).toEqual(preview.crossedAtOnce);
    expect(recomputed!.data.dataState).toBe(preview.dataStateAfter);
    // The clock ran on between the two: the same Paris day, so the same envelope.
    expect(data.appliedAt.slice(0, 10)).toBe(preview.effectiveAt!.slice(0, 10));
  });

  it('given a change for 00:00 Paris on 1 December, when previewed, then scheduled: the whole of December on 5 GiB, a month not begun, nothing crossed at once', async () => {
    const preview = planChangePreviewSchema.parse(await ask(downgrade(`${ACC}-L0`, { effectiveAt: '2026-12-01T00:00:00+01:00' })));
    expect(preview).toMatchObject({ outcome: 'scheduled', reason: null, effectiveAt: '2026-11-30T23:00:00.000Z', crossedAtOnce: [], dataStateAfter: 'normal', usage: { usedBytes: 0 }, overageExposureBytes: 0 });
    expect(preview.envelope).toEqual({ month: '2026-12', days: 31, totalBytes: 5 * GiB, segments: [{ productRef: 'FPC367678', fromDay: 1, toDay: 31, days: 31, allowanceBytes: 5 * GiB, proratedBytes: 5 * GiB }] });
  });

  it('given an unknown line, another account\'s line, a date too far or a target taken, then a rejection with its reason (not an error); a body failing the schema or naming another account, an INVALID_PAYLOAD error', async () => {
    const rejections = {
      unknownLine: await ask(downgrade('NOPE')),
      otherAccountsLine: await ask(downgrade(`${OTHER}-L0`, { targetResourceId: `${OTHER}-L0-FPC367678-0` })),
      tooFar: await ask(downgrade(`${ACC}-L2`, { effectiveAt: '2028-01-01T00:00:00+01:00' })),
      targetTaken: await ask(downgrade(`${ACC}-L2`, { targetResourceId: `${ACC}-L1-FPC367678-0` })), // active on L1 since the test above
    };
    const reasons = Object.fromEntries(Object.entries(rejections).map(([name, reply]) => [name, planChangePreviewSchema.parse(reply)]));
    expect(Object.fromEntries(Object.entries(reasons).map(([name, p]) => [name, [p.outcome, p.reason]]))).toEqual({
      unknownLine: ['rejected', 'UNKNOWN_LINE'],
      otherAccountsLine: ['rejected', 'TENANT_MISMATCH'],
      tooFar: ['rejected', 'INVALID_EFFECTIVE_DATE'],
      targetTaken: ['rejected', 'TARGET_NOT_AVAILABLE'],
    });
    expect(reasons.unknownLine).toMatchObject({ envelope: null, effectiveAt: null, crossedAtOnce: [], message: "line 'NOPE' does not exist" });

    const errors = {
      schema: await ask({ clientAccountId: ACC, lineId: `${ACC}-L2` }),
      notJson: await ask('not json'),
      badEffectiveAt: await ask(downgrade(`${ACC}-L2`, { effectiveAt: '2026-12-01T00:00:00' })),
      subjectDisagrees: await ask(downgrade(`${ACC}-L2`), OTHER),
    };
    expect(Object.fromEntries(Object.entries(errors).map(([name, reply]) => [name, queryErrorSchema.parse(reply).error.code]))).toEqual({
      schema: 'INVALID_PAYLOAD', notJson: 'INVALID_PAYLOAD', badEffectiveAt: 'INVALID_PAYLOAD', subjectDisagrees: 'INVALID_PAYLOAD',
    });
    expect(queryErrorSchema.parse(errors.schema).error.message).toMatch(/serviceRef/);
  });
});
