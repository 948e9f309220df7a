import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { dashboardExpressions, metricNamesIn, PROMETHEUS_DIR, promtool, ruleExpressions } from './support/deploy-monitoring.js';

/**
 * deploy/prometheus and deploy/grafana, checked by Prometheus's own tool: the rules are valid and
 * each alert fires on the situation it names (opensim-alerts.test.yml), the scrape config is
 * valid, and every dashboard query is valid PromQL. That the metrics they name exist is
 * test/e2e/monitoring-metrics.e2e.spec.ts.
 */
describe('deploy/prometheus and deploy/grafana', () => {
  it('promtool check rules passes on the alert rules', () => {
    const run = promtool(['check', 'rules', 'opensim-alerts.yml']);
    expect(run.output).toMatch(/SUCCESS: 8 rules found/);
    expect(run.status).toBe(0);
  });

  it('promtool test rules: each alert fires when it should, and not before', () => {
    const run = promtool(['test', 'rules', 'opensim-alerts.test.yml']);
    expect(run.output).toMatch(/SUCCESS/);
    expect(run.status).toBe(0);
  });

  it('promtool check config passes on the scrape configuration (syntax; the token file is mounted at run time)', () => {
    const run = promtool(['check', 'config', '--syntax-only', 'prometheus.yml']);
    expect(run.output).toMatch(/SUCCESS/);
    expect(run.status).toBe(0);
  });

  it('every dashboard query is valid PromQL (checked as recording rules) and reads at least one metric', () => {
    const queries = dashboardExpressions();
    expect(queries.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), 'opensim-dashboard-'));
    const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}:${q.refId.toLowerCase()}`, expr: q.expr })) }] };
    writeFileSync(join(dir, 'dashboard-rules.yml'), stringify(rules));
    const run = promtool(['check', 'rules', 'dashboard-rules.yml'], dir);
    expect(run.output).toMatch(new RegExp(`SUCCESS: ${queries.length} rules found`));
    for (const q of [...queries, ...ruleExpressions()]) expect(metricNamesIn(q.expr), q.expr).not.toEqual([]);
  });

  it('without promtool the checks fail, saying how to install it (never skipped)', () => {
    expect(() => promtool(['--version'], PROMETHEUS_DIR, { PATH: '/nonexistent' })).toThrow(/promtool is not installed: install Debian's prometheus package \(apt-get install -y prometheus/);
  });

  it('a broken rule file fails the check (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opensim-rules-'));
    writeFileSync(join(dir, 'bad.yml'), stringify({ groups: [{ name: 'bad', rules: [{ alert: 'Bad', expr: 'sum(rate(opensim_requests_total[5m])' }] }] }));
    expect(promtool(['check', 'rules', 'bad.yml'], dir).status).not.toBe(0);
  });
});
