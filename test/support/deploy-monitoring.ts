import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const ROOT = new URL('../../', import.meta.url);
export const PROMETHEUS_DIR = new URL('deploy/prometheus/', ROOT).pathname;
export const DASHBOARD = new URL('deploy/grafana/opensim-dashboard.json', ROOT).pathname;

interface Dashboard {
  panels: { type: string; title: string; datasource?: unknown; targets?: { expr: string; refId: string }[] }[];
}

/** Every PromQL expression of the dashboard, with the panel it belongs to. */
export function dashboardExpressions(): { panel: string; refId: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
}

/** Every alert rule's expression. */
export function ruleExpressions(): { alert: string; expr: string }[] {
  const rules = parse(readFileSync(`${PROMETHEUS_DIR}opensim-alerts.yml`, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
}

/** The metric names an expression reads: ours (opensim_*) and the standard process ones (process_*, nodejs_*). */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:opensim|process|nodejs)_[a-zA-Z0-9_]+\b/g) ?? [])];
}

/**
 * Runs Debian's promtool. Missing, it fails saying how to install it: these checks are part of
 * `npm test`, never skipped.
 */
export function promtool(args: string[], cwd = PROMETHEUS_DIR, env: NodeJS.ProcessEnv = process.env): { status: number; output: string } {
  const run = spawnSync('promtool', args, { cwd, env, encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('promtool is not installed: install Debian\'s prometheus package (apt-get install -y prometheus, or bash scripts/services.sh tools), then run the tests again');
  }
  if (run.error) throw run.error;
  return { status: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}
