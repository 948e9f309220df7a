import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../scripts/services.sh');

export type ServerName = 'nats' | 'redis' | 'mongo';

export interface Ports {
  redis: number;
  nats: number;
  natsMonitor: number;
  mongo: number;
}

/**
 * The nemesis suite's own servers, beside the ones the tests use (scripts/services.sh with its
 * own state folder and ports), so that killing them disturbs nothing else.
 */
export class NemesisServers {
  constructor(
    readonly dir: string,
    readonly ports: Ports,
  ) {}

  get urls(): { NATS_URL: string; REDIS_URL: string; MONGO_URL: string } {
    return { NATS_URL: `nats://127.0.0.1:${this.ports.nats}`, REDIS_URL: `redis://127.0.0.1:${this.ports.redis}`, MONGO_URL: `mongodb://127.0.0.1:${this.ports.mongo}/nemesis` };
  }

  async up(): Promise<void> {
    await this.script('up');
  }

  async down(): Promise<void> {
    await this.script('down');
  }

  /** kill -9, as a crash of the server's host process would. */
  kill(server: ServerName): number {
    const pid = Number(readFileSync(resolve(this.dir, `${server}.pid`), 'utf8'));
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  /** Runs `act` on a connection of its own to the nemesis's Redis (to empty it, or roll it back). */
  async redis<T>(act: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(this.urls.REDIS_URL, { maxRetriesPerRequest: 20 });
    try {
      return await act(redis);
    } finally {
      redis.disconnect();
    }
  }

  async start(server: ServerName): Promise<void> {
    await this.script('start', server);
  }

  private async script(...args: string[]): Promise<void> {
    const env = { ...process.env, SERVICES_DIR: this.dir, REDIS_PORT: String(this.ports.redis), NATS_PORT: String(this.ports.nats), NATS_MONITOR_PORT: String(this.ports.natsMonitor), MONGO_PORT: String(this.ports.mongo) };
    await run('bash', [SCRIPT, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
  }
}
