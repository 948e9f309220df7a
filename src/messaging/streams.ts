import { RetentionPolicy, StorageType, type JetStreamManager } from 'nats';
import type { Naming } from './subjects.js';

/** Window in which JetStream drops a message whose Nats-Msg-Id it has already stored. */
const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;
const ADVISORY_MAX_AGE_NS = 30 * 24 * 3600 * 1_000_000_000;

/**
 * Creates the streams when missing (never changes existing ones, which operators may tune):
 * inbound commands and usage are captured even while no worker runs; outbound events are
 * stored too, so publishing with Nats-Msg-Id deduplicates a re-published event.
 */
export async function ensureStreams(jsm: JetStreamManager, names: Naming): Promise<void> {
  const wanted = [
    { name: names.commandStream, subjects: [names.planChangeCommands, names.resourceOrderCommands] },
    { name: names.usageStream, subjects: [names.usage] },
    { name: names.eventStream, subjects: names.eventSubjects },
    // Advisories are core NATS messages: kept in a stream, none is lost while no relay runs.
    { name: names.advisoryStream, subjects: [names.maxDeliveriesAdvisories], max_age: ADVISORY_MAX_AGE_NS },
  ];
  for (const stream of wanted) {
    try {
      await jsm.streams.info(stream.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams
        .add({
          name: stream.name,
          subjects: stream.subjects,
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          duplicate_window: DUPLICATE_WINDOW_NS,
          ...(stream.max_age ? { max_age: stream.max_age } : {}),
        })
        // Another process created it between our look and our add: that is what we wanted.
        .catch((addErr: unknown) => {
          if ((addErr as { api_error?: { err_code?: number } }).api_error?.err_code !== 10058) throw addErr;
        });
    }
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || e?.code === '404';
}
