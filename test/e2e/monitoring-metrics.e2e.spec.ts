import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { clockStartingAt } from '../../src/runtime/clock.js';
import { eventually } from '../support/opensim-process.js';
import { dashboardExpressions, metricNamesIn, ruleExpressions } from '../support/deploy-monitoring.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { parsePrometheus, sumOf, type Sample } from '../support/prometheus.js';

const ACC = 'DASH';
const TOKEN = 'test-admin-token-0123456789';

describe('deploy/grafana and deploy/prometheus read what a running system exposes', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    await client?.cleanup();
  });

  it('every metric named in the dashboard and the alert rules is on GET /metrics; an expiry pass ran and was counted', async () => {
    const env = isolatedEnv({ OPENSIM_ADMIN_TOKEN: TOKEN, OPENSIM_RECORDS_EXPIRY_INTERVAL_MS: '200' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    // A usage claim from long before the 400-day horizon, and one from yesterday.
    const claim = (id: string, daysAgo: number) => ({ _id: id, seq: 1, attempt: 'a', lineId: `${ACC}-L0`, month: '2025-06', claimedAt: new Date(Date.parse('2026-11-15T09:00:00Z') - daysAgo * 86_400_000).toISOString() });
    await client.db.collection('usage').insertMany([claim('u-expired', 500), claim('u-kept', 1)] as never[]);
    system = await startInProcess(env, { clock: clockStartingAt('2026-11-15T10:00:00+01:00') });
    // One request, so the per-request series (counters with labels, histograms) have samples.
    await client.planChange({ requestId: 'dash-1', clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00' });
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied');

    let samples: Sample[] = [];
    await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${system!.httpPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      samples = parsePrometheus(await res.text());
      return sumOf(samples, 'opensim_expired_records_total', { collection: 'usage' }) === 1 && sumOf(samples, 'opensim_request_latency_seconds_count') === 1;
    }, 10_000);
    const exposed = new Set(samples.map((s) => s.name));

    const named = [...dashboardExpressions().map((q) => ({ where: `dashboard panel '${q.panel}'`, expr: q.expr })), ...ruleExpressions().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))];
    const missing = named.flatMap(({ where, expr }) => metricNamesIn(expr).filter((name) => !exposed.has(name)).map((name) => `${name} (${where})`));
    expect(missing).toEqual([]);
    // Enough names to mean something: ours and the standard process ones.
    const names = new Set(named.flatMap(({ expr }) => metricNamesIn(expr)));
    expect(names.size).toBeGreaterThan(20);
    expect([...names].filter((n) => n.startsWith('process_') || n.startsWith('nodejs_')).length).toBeGreaterThanOrEqual(3);

    expect((await client.db.collection('usage').find({}).toArray()).map((c) => c._id)).toEqual(['u-kept']);
  });
});
