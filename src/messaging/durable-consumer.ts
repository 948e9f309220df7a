import type { ConsumerConfig, JetStreamManager } from 'nats';
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
