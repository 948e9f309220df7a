import type { ConsumerConfig, ConsumerMessages, JetStreamManager } from 'nats';
import { settlesWithin } from '../app/grace.js';
import type { Logger } from '../logging/logger.js';
import { isNotFound } from './streams.js';

/**
 * Creates a durable consumer when missing. An existing one is left as it is: operators may
 * have tuned it, and JetStream refuses most changes to a bound consumer anyway.
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, config);
  }
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
