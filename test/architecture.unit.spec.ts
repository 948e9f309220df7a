import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layer order of src/ (docs/architecture.md): a folder imports only folders of lower layers,
 * so imports run one way, toward the domain, and no two folders — or files — import each other,
 * even through others. Type imports count. Specs are left out (a test may reach anywhere).
 */
const LAYERS: Record<string, number> = {
  domain: 0,
  contract: 1,
  runtime: 2,
  config: 2,
  logging: 2,
  // Spans over the OpenTelemetry API, and the SDK started by the entry points: below every adapter that traces.
  tracing: 2,
  store: 3,
  infra: 3,
  metrics: 4,
  messaging: 4,
  queues: 5,
  outbox: 6,
  platform: 7,
  producers: 8,
  workers: 8,
  usage: 8,
  alerts: 8,
  rollover: 8,
  retention: 8,
  queries: 8,
  operations: 8,
  relay: 9,
  http: 10,
  app: 11,
  cli: 12,
};

const SRC = resolve(import.meta.dirname, '../src');
const IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.includes('.spec.') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
}

const folderOf = (file: string) => relative(SRC, file).split('/')[0]!;

const files = sources(SRC);
const edges = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith(SRC))]));

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexes.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexes.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexes.get(next)!));
    }
    if (low.get(node) === indexes.get(node)) {
      const component: string[] = [];
      for (let top = stack.pop()!; ; top = stack.pop()!) {
        onStack.delete(top);
        component.push(top);
        if (top === node) break;
      }
      if (component.length > 1) found.push(component);
    }
  };
  for (const node of graph.keys()) if (!indexes.has(node)) visit(node);
  return found;
}

describe('architecture: imports run one way', () => {
  it('every folder of src/ has a layer', () => {
    expect([...new Set(files.map(folderOf))].filter((folder) => !(folder in LAYERS))).toEqual([]);
  });

  it('no import runs up: a folder imports only folders of lower layers', () => {
    const upward = files.flatMap((file) =>
      edges.get(file)!.filter((target) => folderOf(target) !== folderOf(file) && LAYERS[folderOf(target)]! >= LAYERS[folderOf(file)]!).map((target) => `${relative(SRC, file)} -> ${relative(SRC, target)}`),
    );
    expect(upward).toEqual([]);
  });

  it('no folder cycle and no file cycle', () => {
    const folders = new Map<string, string[]>();
    for (const [file, targets] of edges) folders.set(folderOf(file), [...new Set([...(folders.get(folderOf(file)) ?? []), ...targets.map(folderOf).filter((f) => f !== folderOf(file))])]);
    expect(cycles(folders)).toEqual([]);
    expect(cycles(edges).map((c) => c.map((f) => relative(SRC, f)))).toEqual([]);
  });

  it('the domain imports nothing of the adapters, nor their libraries', () => {
    const domain = files.filter((f) => folderOf(f) === 'domain');
    const libraries = domain.filter((f) => /from '(nats|bullmq|ioredis|mongodb|pino|hono)'/.test(readFileSync(f, 'utf8')));
    expect(libraries.map((f) => relative(SRC, f))).toEqual([]);
  });
});
