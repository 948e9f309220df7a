import { systemClock, type Clock } from '../runtime/clock.js';
import type { Role, RoleContext } from '../platform/role.js';
import { OutboxPublisher } from '../outbox/outbox.js';
import { SweepSchedule } from '../runtime/sweep-schedule.js';
import { collections, type Collections } from '../store/documents.js';
import { ThresholdAlerts, type AlertsPipeline } from './threshold-alerts.js';

/**
 * The threshold-alert consumer alone (`opensim alerts`), for scaling it apart from the
 * pipeline: what it shares with nothing else is built here, and a sweeper publishes what its
 * own writes left in outboxes (the relay's job in `opensim start`).
 */
export function alertRoles(options: { clock?: Clock } = {}): Role[] {
  const wiring = new AlertsWiring(options.clock ?? systemClock);
  return [wiring, new LineOutboxSweeper(wiring), new ThresholdAlerts(wiring)];
}

class AlertsWiring implements Role, AlertsPipeline {
  readonly name = 'alerts-wiring';
  collections!: Collections;
  outbox!: OutboxPublisher;
  sweeps!: SweepSchedule;

  constructor(readonly clock: Clock) {}

  async start(context: RoleContext): Promise<void> {
    this.collections = collections(context.connections.mongo.db());
    this.sweeps = new SweepSchedule(context.config.OPENSIM_SWEEP_FULL_MS);
    this.outbox = new OutboxPublisher(this.collections, () => context.connections.nats()?.jetstream(), context.logger, () => this.sweeps.request());
  }

  async stop(): Promise<void> {
    await this.outbox.settle();
  }
}

class LineOutboxSweeper implements Role {
  readonly name = 'line-outbox-sweeper';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pipeline: AlertsWiring) {}

  async start(context: RoleContext): Promise<void> {
    const every = context.config.OPENSIM_RELAY_INTERVAL_MS;
    const tick = () => {
      this.timer = setTimeout(() => {
        const started = Date.now();
        if (!this.pipeline.sweeps.due(started)) return tick();
        void this.pipeline.outbox
          .sweep(Math.max(1000, every))
          .then((swept) => this.pipeline.sweeps.swept(started, swept.complete))
          .catch((err) => context.logger.debug({ err }, 'outbox sweep incomplete; next pass retries'))
          .finally(tick);
      }, every);
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
  }
}
