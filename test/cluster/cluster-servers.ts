import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = resolve(ROOT, 'scripts/services.sh');

/**
 * The clusters of `npm run test:cluster`: `bash scripts/services.sh cluster up` in a state folder
 * of their own (OPENSIM_CLUSTER_SERVICES_DIR, by default .services/cluster), so its MongoDB-wire
 * server and data stay apart from the single-node servers of `npm test`.
 */
export const CLUSTER_STATE = process.env.OPENSIM_CLUSTER_SERVICES_DIR ?? resolve(ROOT, '.services/cluster');

/** The state folder's single MongoDB-wire server: a port of its own, beside the default one. */
const CLUSTER_ENV = { SERVICES_DIR: CLUSTER_STATE, MONGO_PORT: process.env.OPENSIM_CLUSTER_MONGO_PORT ?? '27317' };

export type ClusterNode = 'nats-1' | 'nats-2' | 'nats-3' | 'redis-1' | 'redis-2' | 'redis-3';

/** `bash scripts/services.sh cluster <args>`; on failure the error carries the script's last lines (what it tried, what to do). */
export function clusterScript(...args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [SCRIPT, 'cluster', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...CLUSTER_ENV } });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      const text = output.join('');
      if (code === 0) return resolvePromise(text);
      reject(new Error(`bash scripts/services.sh cluster ${args.join(' ')} (SERVICES_DIR=${CLUSTER_STATE}) exited with ${code}:\n${text.trimEnd().split('\n').slice(-30).join('\n')}`));
    });
  });
}

/** The URLs `cluster up` wrote (cluster-env). */
export function clusterUrls(): { natsUrl: string; redisUrl: string; mongoUrl: string } {
  const file = resolve(CLUSTER_STATE, 'cluster-env');
  if (!existsSync(file)) throw new Error(`no ${file}: run bash scripts/services.sh cluster up with SERVICES_DIR=${CLUSTER_STATE}`);
  const vars = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => /^export ([A-Z_]+)=(\S+)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  return { natsUrl: vars.NATS_URL!, redisUrl: vars.REDIS_URL!, mongoUrl: vars.MONGO_URL! };
}

/** The pid of a node the script started (its pid file). */
export function nodePid(node: ClusterNode): number {
  const file = resolve(CLUSTER_STATE, `${node}.pid`);
  if (!existsSync(file)) throw new Error(`${node} is not running (no ${file})`);
  return Number(readFileSync(file, 'utf8').trim());
}

/** kill -9 of one node: no shutdown of any kind, as a crash of its machine. */
export function killNode(node: ClusterNode): number {
  const pid = nodePid(node);
  process.kill(pid, 'SIGKILL');
  return pid;
}

export async function startNode(node: ClusterNode): Promise<void> {
  await clusterScript('start', node);
}
