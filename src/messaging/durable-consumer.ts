import type { ConsumerConfig, ConsumerMessages, JetStreamManager } from 'nats';
import { settlesWithin } from '../runtime/grace.js';
import type { Logger } from '../logging/logger.js';
import { isNotFound } from './streams.js';

/** The settings JetStream 2.10 lets a bound consumer change, and that follow the configuration. */
const RECONCILED = ['ack_wait', 'max_ack_pending', 'max_deliver', 'filter_subjects'] as const satisfies readonly (keyof ConsumerConfig)[];

/**
 * Creates a durable consumer when missing, and brings an existing one's ack wait, in-flight
 * bound and delivery cap to the configuration (logging what changed): an operator who changes
 * a setting sees it take effect at the next start. Returns the consumer's configuration as the
 * server holds it, so callers base their waits on what JetStream actually does.
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
  logger?: Logger,
): Promise<ConsumerConfig> {
  let current: ConsumerConfig;
  try {
    current = (await jsm.consumers.info(stream, config.durable_name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return (await jsm.consumers.add(stream, config)).config;
  }
  const changes: Partial<Record<(typeof RECONCILED)[number], { from: unknown; to: unknown }>> = {};
  for (const key of RECONCILED) {
    if (config[key] !== undefined && JSON.stringify(config[key]) !== JSON.stringify(current[key])) changes[key] = { from: current[key], to: config[key] };
  }
  if (Object.keys(changes).length === 0) return current;
  const update = Object.fromEntries(Object.entries(changes).map(([key, change]) => [key, change.to]));
  const updated = await jsm.consumers.update(stream, config.durable_name, update);
  logger?.info({ stream, consumer: config.durable_name, changes }, 'durable consumer updated to the configuration');
  return updated.config;
}

/** A consumer's ack wait in milliseconds (JetStream keeps nanoseconds). */
/** JetStream's default when unset is 30 s. */
export function ackWaitMs(config: Pick<ConsumerConfig, 'ack_wait'>): number {
  return Math.round((config.ack_wait ?? 30_000_000_000) / 1_000_000);
}

/**
 * Runs a consuming loop until stopped: if it ends or fails (NATS away, stream being created
 * by another process), it starts again after a second. Every consuming role runs in one.
 */
export async function consumeUntilStopped(label: string, logger: Logger, stopped: () => boolean, run: () => Promise<void>): Promise<void> {
  while (!stopped()) {
    try {
      await run();
    } catch (err) {
      logger.error({ err }, `${label} interrupted; restarting in 1 s`);
    }
    if (!stopped()) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Stops a consuming loop: no more pulls, and the loop ends once it has dealt with what it
 * already received, within the grace period. Past it, unacknowledged messages are redelivered.
 */
export async function stopConsuming(label: string, logger: Logger, graceMs: number, messages: ConsumerMessages | undefined, loop: Promise<void> | undefined): Promise<void> {
  const drained = (async () => {
    await messages?.close();
    await loop?.catch(() => {});
  })();
  if (!(await settlesWithin(drained, graceMs))) {
    logger.warn({ graceMs }, `${label} did not drain within the grace period; unacknowledged messages will be redelivered`);
  }
}
