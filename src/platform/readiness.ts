import type { Logger } from '../logging/logger.js';
import type { Connections } from '../infra/connections.js';

export type ServiceName = 'nats' | 'redis' | 'mongo';

export interface ReadinessReport {
  ready: boolean;
  services: Record<ServiceName, boolean>;
  /** Roles that are not consuming yet (e.g. a JetStream consumer not bound). */
  notConsuming: string[];
}

const CHECK_TIMEOUT_MS = 1000;

/** Answers "is this process connected to all three services and consuming?", and logs changes. */
export class Readiness {
  private last: Record<ServiceName, boolean> | undefined;
  private readonly consumers = new Map<string, () => boolean>();

  constructor(
    private readonly connections: Connections,
    private readonly logger: Logger,
  ) {}

  /** A role registers how to tell whether it consumes; /readyz is 503 until all do. */
  registerConsumer(name: string, isConsuming: () => boolean): void {
    this.consumers.set(name, isConsuming);
  }

  async check(): Promise<ReadinessReport> {
    const [nats, redis, mongo] = await Promise.all([this.natsUp(), this.redisUp(), this.mongoUp()]);
    const services = { nats, redis, mongo };
    this.logChanges(services);
    const notConsuming = [...this.consumers].filter(([, consuming]) => !consuming()).map(([name]) => name);
    return { ready: nats && redis && mongo && notConsuming.length === 0, services, notConsuming };
  }

  private async natsUp(): Promise<boolean> {
    const nc = this.connections.nats();
    if (!nc || nc.isClosed()) return false;
    return withTimeout(nc.flush().then(() => true));
  }

  private async redisUp(): Promise<boolean> {
    const { redis } = this.connections;
    // While disconnected ioredis queues commands; a ping would wait instead of answering.
    if (redis.status !== 'ready') return false;
    return withTimeout(redis.ping().then((pong) => pong === 'PONG'));
  }

  private async mongoUp(): Promise<boolean> {
    return withTimeout(
      this.connections.mongo
        .db('admin')
        .command({ ping: 1 }, { timeoutMS: CHECK_TIMEOUT_MS })
        .then((reply) => reply.ok === 1),
    );
  }

  private logChanges(services: Record<ServiceName, boolean>): void {
    for (const name of Object.keys(services) as ServiceName[]) {
      if (this.last?.[name] === services[name]) continue;
      if (services[name]) this.logger.info({ service: name }, `${name} is reachable`);
      else this.logger.warn({ service: name }, `${name} is not reachable: not ready`);
    }
    this.last = services;
  }
}

function withTimeout(check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  return Promise.race([check.catch(() => false), timeout]).finally(() => clearTimeout(timer));
}
