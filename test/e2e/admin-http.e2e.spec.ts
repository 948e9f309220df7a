import { commandQueueName } from '../../src/queues/command-queues.js';
import { rolloverQueueName } from '../../src/rollover/month-rollover.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { eventually } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { parsePrometheus, sumOf } from '../support/prometheus.js';
import { GiB, publishUsage, usageRecord } from '../support/monitoring.js';
import { clockStartingAt } from '../../src/runtime/clock.js';

const ACC = 'ADMIN';
const TOKEN = 'test-admin-token-0123456789';

const request = (id: string, line: string, target: string) => ({
  requestId: id, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: line, targetResourceId: target, requestedAt: '2026-11-15T10:00:00+01:00',
});

describe('admin HTTP surface', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    system = undefined;
    await client?.cleanup();
  });

  it('/metrics: 401 without the token, and with it counters that match the events observed', async () => {
    const env = isolatedEnv({ OPENSIM_ADMIN_TOKEN: TOKEN });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 4));
    system = await startInProcess(env);
    const base = `http://127.0.0.1:${system.httpPort}`;

    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    // 3 applied, 2 rejected by rules (two reasons), 2 invalid payloads.
    for (let i = 0; i < 3; i++) await client.planChange(request(`ok-${i}`, `${ACC}-L${i}`, `${ACC}-L${i}-FPC367678-0`));
    await client.planChange(request('no-line', 'NOPE', `${ACC}-L3-FPC367678-0`));
    await client.planChange(request('busy', `${ACC}-L3`, `${ACC}-L2-R20`));
    await client.publish(`cmd.plan-change.${ACC}`, 'not json', 'bad-1');
    await client.publish(`cmd.plan-change.${ACC}`, { requestId: 'bad-2' }, 'bad-2');
    const outcomes = await client.waitForEvents((e) => e.type.startsWith('opensim.plan-change.'), 7);

    const observed = (type: string, reason?: string) => new Set(outcomes.filter((e) => e.type === type && (reason === undefined || e.data.reason === reason)).map((e) => e.id)).size;
    let samples = parsePrometheus('');
    await eventually(async () => {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      samples = parsePrometheus(await res.text());
      return sumOf(samples, 'opensim_outbox_backlog') === 0 && sumOf(samples, 'opensim_queue_jobs', { state: 'completed' }) === 5;
    }, 10_000);

    const requests = (outcome: string, reason?: string) => sumOf(samples, 'opensim_requests_total', { kind: 'plan-change', outcome, ...(reason === undefined ? {} : { reason }) });
    expect(requests('applied')).toBe(observed('opensim.plan-change.applied'));
    expect(requests('applied')).toBe(3);
    for (const reason of ['UNKNOWN_LINE', 'TARGET_NOT_AVAILABLE', 'INVALID_PAYLOAD']) {
      expect(requests('rejected', reason)).toBe(observed('opensim.plan-change.rejected', reason));
    }
    expect(requests('rejected')).toBe(4);
    expect(requests('failed')).toBe(observed('opensim.plan-change.failed'));
    // Every job that went through the queues was timed once.
    expect(sumOf(samples, 'opensim_processing_seconds_count')).toBe(5);
    expect(sumOf(samples, 'opensim_request_latency_seconds_count')).toBe(5);
    expect(sumOf(samples, 'opensim_dead_letters', { reason: 'INVALID_PAYLOAD', status: 'open' })).toBe(2);
    expect(sumOf(samples, 'opensim_dead_lettered_total', { reason: 'INVALID_PAYLOAD' })).toBe(2);
    expect(sumOf(samples, 'opensim_queue_jobs', { state: 'waiting' })).toBe(0);
    expect(samples.filter((s) => s.name === 'opensim_queue_jobs').map((s) => s.labels.queue)).toContain(commandQueueName(client.prefix, 0));
    expect(sumOf(samples, 'opensim_intake_messages', { state: 'pending' })).toBe(0);
    // prom-client's process metrics under their standard names, as stock Node.js dashboards expect.
    expect(sumOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(samples.some((s) => s.name.startsWith('opensim_process_') || s.name.startsWith('opensim_nodejs_'))).toBe(false);
    // Lag and pending of every durable consumer; the rollover queue with the command queues.
    const consumers = new Set(samples.filter((s) => s.name === 'opensim_consumer_pending').map((s) => s.labels.consumer));
    // The intake's: one per partition (4 here); the single intake's consumer of earlier versions is gone once drained.
    expect([...consumers].sort()).toEqual(['command-intake-4-0', 'command-intake-4-1', 'command-intake-4-2', 'command-intake-4-3', 'dead-letter-collector', 'threshold-alerts', 'usage-intake']);
    expect(sumOf(samples, 'opensim_consumer_lag_seconds')).toBe(0);
    expect(samples.filter((s) => s.name === 'opensim_queue_jobs').map((s) => s.labels.queue)).toContain(rolloverQueueName(client.prefix));
    expect(sumOf(samples, 'opensim_ready')).toBe(1);
    // The hook the monitoring roles call; nothing crossed a threshold here (each threshold's series starts at 0).
    expect(samples.filter((s) => s.name === 'opensim_threshold_crossings_total').map((s) => s.labels.threshold).sort()).toEqual(['BLOCK', 'COST_CAP', 'ENVELOPE_100', 'ENVELOPE_80', 'REDUCTION']);
    expect(sumOf(samples, 'opensim_threshold_crossings_total')).toBe(0);
  });

  it('/metrics: threshold crossings counted as the alert consumer takes them, equal to the crossing events', async () => {
    const env = isolatedEnv({ OPENSIM_ADMIN_TOKEN: TOKEN });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    system = await startInProcess(env, { clock: clockStartingAt('2026-11-15T10:00:00+01:00') });
    // 21 GiB on a 20 GiB line (reduction 16 GiB, block 20 GiB): ENVELOPE_80, ENVELOPE_100, REDUCTION, BLOCK.
    await publishUsage(client, [usageRecord(ACC, `${ACC}-L0`, 'u-1', 21 * GiB, '2026-11-15T10:05:00+01:00')]);
    const crossings = await client.waitForEvents((e) => e.type === 'opensim.threshold.crossed', 4);
    const ids = new Set(crossings.map((e) => e.id));
    const byThreshold = (t: string) => new Set(crossings.filter((e) => e.data.threshold === t).map((e) => e.id)).size;
    let samples = parsePrometheus('');
    await eventually(async () => {
      samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${system!.httpPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      return sumOf(samples, 'opensim_threshold_crossings_total') === ids.size;
    }, 10_000);
    for (const threshold of ['ENVELOPE_80', 'ENVELOPE_100', 'REDUCTION', 'BLOCK']) {
      expect(sumOf(samples, 'opensim_threshold_crossings_total', { threshold })).toBe(byThreshold(threshold));
    }
  });

  it('Bull Board: 401 without the token (with a Basic challenge for browsers), the board and its API with it', async () => {
    const env = isolatedEnv({ OPENSIM_ADMIN_TOKEN: TOKEN });
    client = await PipelineClient.open(env);
    system = await startInProcess(env);
    const base = `http://127.0.0.1:${system.httpPort}`;

    const denied = await fetch(`${base}/admin/queues`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/Basic realm="opensim admin"/);
    expect((await fetch(`${base}/admin/queues/api/queues`)).status).toBe(401);

    const page = await fetch(`${base}/admin/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<html/i);
    // Its assets are served under the same path (relative to <base href="/admin/queues/">).
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${base}/admin/queues/${script}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${base}/admin/queues/${script}`)).status).toBe(401);
    // A browser sends Basic auth (any user, the token as password) with every asset and API call.
    const basic = `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}`;
    const api = await fetch(`${base}/admin/queues/api/queues?activeQueue=&page=1&jobsPerPage=10`, { headers: { authorization: basic } });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...Array.from({ length: 4 }, (_, p) => commandQueueName(client!.prefix, p)), rolloverQueueName(client.prefix)].sort());
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
    // Read-only: the board cannot retry or clean jobs behind the audited `opensim dlq`.
    const clean = await fetch(`${base}/admin/queues/api/queues/${encodeURIComponent(commandQueueName(client.prefix, 0))}/clean/failed`, { method: 'PUT', headers: { authorization: basic } });
    expect(clean.status).toBeGreaterThanOrEqual(400);
  });

  it('with no OPENSIM_ADMIN_TOKEN the admin routes answer 503 and /healthz, /readyz stay open', async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    system = await startInProcess(env);
    const base = `http://127.0.0.1:${system.httpPort}`;
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(503);
    expect(await metrics.json()).toEqual({ error: 'admin routes are disabled: set OPENSIM_ADMIN_TOKEN' });
    expect((await fetch(`${base}/admin/queues`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
