import { AdminSurface } from '../http/admin.js';
import { CommandIntake } from '../producers/command-intake.js';
import { MaxDeliveriesCollector } from '../relay/max-deliveries.js';
import { OutboxPublisher } from '../outbox/outbox.js';
import { Relay } from '../relay/relay.js';
import { collections, ensureIndexes, type Collections } from '../store/documents.js';
import { references, type References } from '../store/plan-change-store.js';
import { migrateLineHolds, migrateMarkers } from '../store/migrations.js';
import { CommandQueues } from '../queues/command-queue-client.js';
import { CommandWorker } from '../workers/command-worker.js';
import { Scheduler } from '../workers/scheduler.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { monitoringRoles } from './monitoring-roles.js';
import { readRoles } from './read-roles.js';
import type { Pipeline } from '../platform/pipeline.js';
import { SweepSchedule } from '../runtime/sweep-schedule.js';
import type { Role, RoleContext } from './system.js';

/**
 * Every role of the system, in start order. `Wiring` starts first and builds what the
 * others share; they read it when they start. They stop in reverse order: the intake stops
 * pulling, the workers finish their jobs, and only then does the relay flush a last time.
 */
export function allRoles(options: { clock?: Clock } = {}): Role[] {
  const wiring = new Wiring(options.clock);
  return [wiring, new Relay(wiring), new MaxDeliveriesCollector(wiring), new Scheduler(wiring), new CommandWorker(wiring), new CommandIntake(wiring), new AdminSurface(wiring), ...monitoringRoles(wiring), ...readRoles(wiring)];
}

class Wiring implements Role, Pipeline {
  readonly name = 'wiring';

  constructor(readonly clock: Clock = systemClock) {}

  collections!: Collections;
  queues!: CommandQueues;
  outbox!: OutboxPublisher;
  references!: References;
  outboxSweeps!: SweepSchedule;
  noticeSweeps!: SweepSchedule;
  schemaReady!: Promise<void>;
  triggerDue?: Pipeline['triggerDue'];
  private stopped = false;

  async start(context: RoleContext): Promise<void> {
    const { connections, config, logger } = context;
    this.collections = collections(connections.mongo.db());
    this.queues = new CommandQueues(config.OPENSIM_SUBJECT_PREFIX, config.OPENSIM_PARTITIONS, connections.redis, (err) =>
      logger.debug({ err, service: 'redis' }, 'queue connection error'),
    );
    this.outboxSweeps = new SweepSchedule(config.OPENSIM_SWEEP_FULL_MS);
    this.noticeSweeps = new SweepSchedule(config.OPENSIM_SWEEP_FULL_MS);
    this.outbox = new OutboxPublisher(this.collections, () => connections.nats()?.jetstream(), logger, () => this.outboxSweeps.request());
    this.references = references(this.collections);
    this.schemaReady = this.prepareSchema(context);
  }

  /** Indexes and one-time migrations, tried until MongoDB answers: plan changes wait for them (see Pipeline). */
  private async prepareSchema({ logger }: RoleContext): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await ensureIndexes(this.collections);
        const migrated = await migrateLineHolds(this.collections, this.clock().toISOString());
        if (migrated > 0) logger.info({ lines: migrated }, 'lines given the resource they hold (one-time migration)');
        // In the background: nothing waits for it but the sweeps of what an earlier version left pending.
        void migrateMarkers(this.collections, this.clock().toISOString()).then(
          (marked) => marked > 0 && logger.info({ marked }, 'pending outboxes and notices marked (one-time migration)'),
          (err: unknown) => logger.warn({ err }, 'pending outboxes and notices not marked yet; the next start tries again'),
        );
        return;
      } catch (err) {
        logger.warn({ err, attempt }, 'indexes or migrations not done yet; trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt)));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.outbox.settle();
    await this.queues.close();
  }
}
