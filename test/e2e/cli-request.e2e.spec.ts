import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import type { CliIo } from '../../src/cli/io.js';
import { EXIT_NO_OUTCOME, run } from '../../src/cli/request.js';
import type { Fixture } from '../../src/contract/fixture.js';
import { NoStreamError } from '../../src/cli/request-outcome.js';
import { isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { uniqueName } from '../support/services.js';

const SOURCE = JSON.parse(readFileSync(new URL('../../fixtures/source-document.json', import.meta.url), 'utf8')) as Fixture;
const LINE = ['--account', 'CA-100237', '--service', 'SRV-OPENSIM-000142', '--line', 'LINE-000318'];

/** `opensim request …` in this process against the deployment of `env`. */
async function request(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env, confirm: async () => undefined };
  const code = await run(args, io);
  return { code, out: out.join(''), err: err.join('') };
}

describe('opensim request: one message through NATS like any upstream, its outcome printed', () => {
  let env: Record<string, string>;
  let client: PipelineClient;
  let system: RunningSystem | undefined;

  beforeAll(async () => {
    env = isolatedEnv({ OPENSIM_EVENTS_MAX_MIB: '64' });
    client = await PipelineClient.open(env);
    await client.seed(SOURCE);
    system = await startInProcess(env);
  });
  afterAll(async () => {
    await system?.stop();
    await client?.cleanup();
  });

  it('plan-change: applied, one human line, exit 0; published with Nats-Msg-Id = requestId', async () => {
    const { code, out, err } = await request(env, 'plan-change', ...LINE, '--target', 'RES-000454', '--request-id', 'cli-first');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(/^applied +plan-change cli-first on LINE-000318: FPC367679 \(RES-000452\) -> FPC367678 \(RES-000454\); envelope \d{4}-\d{2}: [\d.]+ GiB, used [\d.]+ GiB\n$/);
    const commands = await (await client.nc.jetstreamManager()).streams.getMessage(`${client.prefix.toUpperCase()}_COMMANDS`, { last_by_subj: `${client.prefix}.cmd.plan-change.CA-100237` }).catch(() => undefined);
    // Interest retention may have removed it once taken in; when still there, its id is the request's.
    if (commands) expect(commands.header.get('Nats-Msg-Id')).toBe('cli-first');
  });

  it('plan-change refused by a rule: the rejected line with its reason, exit 1; --json prints the CloudEvent', async () => {
    const { code, out } = await request(env, 'plan-change', ...LINE, '--target', 'RES-000453', '--json');
    expect(code).toBe(1);
    const event = JSON.parse(out) as { type: string; specversion: string; data: { reason: string } };
    expect(event).toMatchObject({ specversion: '1.0', type: 'opensim.plan-change.rejected', data: { reason: 'CATEGORY_MISMATCH' } });

    const human = await request(env, 'plan-change', ...LINE, '--target', 'RES-000454');
    expect(human.code).toBe(1);
    expect(human.out).toMatch(/^rejected +plan-change cli-\S+ on LINE-000318: TARGET_NOT_AVAILABLE/);
  });

  it('resource-order: applied, exit 0', async () => {
    const { code, out } = await request(env, 'resource-order', '--account', 'CA-100237', '--service', 'SRV-OPENSIM-000142', '--resource', 'RES-CLI-1', '--product', 'FPC367680', '--order-id', 'cli-order-1');
    expect(code).toBe(0);
    expect(out).toBe('applied   resource-order cli-order-1: resource RES-CLI-1 (FPC367680) of SRV-OPENSIM-000142 is available\n');
  });

  it('preview: what the change would do, nothing sent to be done; exit 0 when it would be scheduled, 1 when rejected', async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const scheduled = await request(env, 'preview', ...LINE, '--target', 'RES-000452', '--at', at);
    expect({ code: scheduled.code, err: scheduled.err }).toEqual({ code: 0, err: '' });
    expect(scheduled.out).toMatch(new RegExp(`^scheduled +preview of LINE-000318 -> RES-000452 at ${at.replace(/[.]/g, '[.]')}\n  envelope    \\d{4}-\\d{2}: [\\d.]+ GiB\n  thresholds  reduction 16[.]0 GiB, block 20[.]0 GiB, cost cap 50[.]00 EUR\n`));
    const json = await request(env, 'preview', ...LINE, '--target', 'RES-000452', '--json');
    expect(JSON.parse(json.out)).toMatchObject({ outcome: 'applied', reason: null, thresholds: { blockBytes: 20 * 2 ** 30 }, crossedAtOnce: [] });
    const rejected = await request(env, 'preview', ...LINE, '--target', 'RES-000453');
    expect(rejected.code).toBe(1);
    expect(rejected.out).toMatch(/^rejected {2}preview of LINE-000318 -> RES-000453: CATEGORY_MISMATCH/);
    // A preview decides, it does not do: the line is still on the 5 Go plan, nothing scheduled.
    const line = await client.db.collection('lines').findOne({ _id: 'LINE-000318' as never });
    expect(line!.line).toMatchObject({ activeResourceId: 'RES-000454' });
    expect(line!.line.scheduledChange).toBeUndefined();
  });

  it('plan-change --at: scheduled, exit 0; cancel: applied, exit 0; the same cancel of it again: NOT_SCHEDULED, exit 1', async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const scheduled = await request(env, 'plan-change', ...LINE, '--target', 'RES-000452', '--at', at, '--request-id', 'cli-later');
    expect({ code: scheduled.code, err: scheduled.err }).toEqual({ code: 0, err: '' });
    expect(scheduled.out).toBe(`scheduled plan-change cli-later on LINE-000318: -> FPC367679 (RES-000452) at ${at}\n`);
    await expect.poll(async () => (await client.db.collection('resources').findOne({ _id: 'RES-000452' as never }))?.state).toBe('reserved');

    const cancelled = await request(env, 'cancel', '--account', 'CA-100237', '--request-id', 'cli-later', '--cancel-id', 'cli-cancel-1', '--json');
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.out)).toMatchObject({ type: 'opensim.plan-change-cancel.applied', data: { cancelId: 'cli-cancel-1', requestId: 'cli-later', lineId: 'LINE-000318' } });
    // The resource document is a projection of the line, written beside the event's publication.
    await expect.poll(async () => (await client.db.collection('resources').findOne({ _id: 'RES-000452' as never }))?.state).toBe('available');
    const commands = await (await client.nc.jetstreamManager()).streams.getMessage(`${client.prefix.toUpperCase()}_COMMANDS`, { last_by_subj: `${client.prefix}.cmd.plan-change-cancel.CA-100237` }).catch(() => undefined);
    if (commands) expect(commands.header.get('Nats-Msg-Id')).toBe('cli-cancel-1');

    const again = await request(env, 'cancel', '--account', 'CA-100237', '--request-id', 'cli-later');
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/^rejected {2}cancel cli-\S+ of plan-change cli-later: NOT_SCHEDULED/);
  });

  it('plan-change --at --wait-final: scheduled noted on stderr, then the final outcome, applied at --at, exit 0', async () => {
    const at = new Date(Date.now() + 2000).toISOString();
    const { code, out, err } = await request(env, 'plan-change', ...LINE, '--target', 'RES-000452', '--at', at, '--wait-final', '--request-id', 'cli-soon');
    expect(code).toBe(0);
    expect(err).toBe(`note: scheduled plan-change cli-soon on LINE-000318: -> FPC367679 (RES-000452) at ${at}; waiting for its final outcome\n`);
    expect(out).toMatch(/^applied +plan-change cli-soon on LINE-000318: FPC367678 \(RES-000454\) -> FPC367679 \(RES-000452\)/);
  });

  it('the same request id again: JetStream drops it, nothing more is decided, and it says so (exit 3)', async () => {
    const { code, err } = await request(env, 'plan-change', ...LINE, '--target', 'RES-000452', '--request-id', 'cli-first', '--timeout', '1500ms');
    expect(code).toBe(EXIT_NO_OUTCOME);
    expect(err).toContain('JetStream dropped this message as a duplicate of cli-first');
    expect(err).toContain('no outcome for plan-change cli-first within 1.5 s');
  });

  it('no system taking requests: no outcome in time, exit 3, saying what to check', async () => {
    await system!.stop();
    system = undefined;
    const { code, err } = await request(env, 'plan-change', ...LINE, '--target', 'RES-000452', '--timeout', '1');
    expect(code).toBe(EXIT_NO_OUTCOME);
    expect(err).toMatch(/no outcome for plan-change cli-\S+ within 1 s .* Is the system running/);
  });

  it('a prefix no system ever ran with: no stream takes the subject, and it says how to get one', async () => {
    await expect(request({ ...env, OPENSIM_SUBJECT_PREFIX: uniqueName('none') }, 'plan-change', ...LINE, '--target', 'RES-000452')).rejects.toThrow(NoStreamError);
  });

  it('preview on a prefix no system answers queries on: it says so at once, naming the subject', async () => {
    const prefix = uniqueName('none');
    await expect(request({ ...env, OPENSIM_SUBJECT_PREFIX: prefix }, 'preview', ...LINE, '--target', 'RES-000452')).rejects.toThrow(`no process answers ${prefix}.qry.plan-change-preview.CA-100237: is the system running`);
  });
});
