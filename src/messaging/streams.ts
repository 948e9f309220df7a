import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type ServerInfo, type StreamConfig, type SubjectTransformConfig } from 'nats';
import { commandTransform } from './command-layout.js';
import type { Naming } from './subjects.js';
import { isNotFound, JetStreamError, jetStreamErrorCode } from './jetstream-errors.js';

/** Window in which JetStream drops a message whose Nats-Msg-Id it has already stored. */
export const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;
const ADVISORY_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

/** The retention of the streams (docs/operations.md), from OPENSIM_INBOUND_MAX_AGE_HOURS and OPENSIM_EVENTS_*. */
export interface StreamLimits {
  /** COMMANDS and USAGE: the safety net for a message never taken in. */
  inboundMaxAgeMs: number;
  eventsMaxAgeMs: number;
  eventsMaxBytes: number;
  /** Replicas of every stream (OPENSIM_STREAM_REPLICAS); `auto`: see streamReplicas. */
  replicas: Replicas;
  /**
   * P (OPENSIM_PARTITIONS): a command stream created now stores commands under P intake
   * partitions from its first message (command-layout.ts). Absent: created unpartitioned, as
   * earlier versions did (the intake partitions it, and takes in what came before first).
   */
  commandPartitions?: number;
}

export type Replicas = number | 'auto';

export const DEFAULT_STREAM_LIMITS: StreamLimits = { inboundMaxAgeMs: 168 * HOUR_MS, eventsMaxAgeMs: 72 * HOUR_MS, eventsMaxBytes: 4_096 * 2 ** 20, replicas: 'auto' };

export function streamLimitsOf(config: { OPENSIM_INBOUND_MAX_AGE_HOURS: number; OPENSIM_EVENTS_MAX_AGE_HOURS: number; OPENSIM_EVENTS_MAX_MIB: number; OPENSIM_STREAM_REPLICAS?: Replicas; OPENSIM_PARTITIONS?: number }): StreamLimits {
  return {
    ...(config.OPENSIM_PARTITIONS !== undefined ? { commandPartitions: config.OPENSIM_PARTITIONS } : {}),
    inboundMaxAgeMs: config.OPENSIM_INBOUND_MAX_AGE_HOURS * HOUR_MS,
    eventsMaxAgeMs: config.OPENSIM_EVENTS_MAX_AGE_HOURS * HOUR_MS,
    eventsMaxBytes: config.OPENSIM_EVENTS_MAX_MIB * 2 ** 20,
    replicas: config.OPENSIM_STREAM_REPLICAS ?? 'auto',
  };
}

/** Most replicas `auto` asks for: three survive the loss of one node, as JetStream recommends. */
const AUTO_REPLICAS = 3;

/**
 * The replica count a setting means on the server this connection reached: a number is itself;
 * `auto` is 3 on a cluster of three servers or more, what that cluster has below three, and 1 on
 * a server alone. The size is the servers the cluster advertises to clients (INFO `connect_urls`,
 * this one included): with `no_advertise`, or servers without JetStream in the cluster, set
 * OPENSIM_STREAM_REPLICAS.
 */
export function streamReplicas(setting: Replicas, info: Pick<ServerInfo, 'cluster' | 'connect_urls'> | undefined): number {
  if (setting !== 'auto') return setting;
  if (!info?.cluster) return 1;
  return Math.max(1, Math.min(AUTO_REPLICAS, info.connect_urls?.length ?? 1));
}

/**
 * What a stream should be. `interest`: kept until every durable consumer took it in, then
 * dropped (COMMANDS, USAGE) — but only once durable consumers cover every subject, because an
 * interest stream drops at once a message no consumer is interested in (stream-retention.ts
 * decides; until then the stream keeps limits retention).
 */
export interface WantedStream {
  name: string;
  subjects: string[];
  retention: 'interest' | 'limits';
  maxAgeMs: number;
  /** 0: unlimited. */
  maxBytes: number;
  /** Absent: `auto`. */
  replicas?: Replicas;
  /** How a new stream rewrites subjects as it stores them (the command stream's partitions). */
  transform?: SubjectTransformConfig;
}

export function wantedStreams(names: Naming, limits: StreamLimits): WantedStream[] {
  const streams: Omit<WantedStream, 'replicas'>[] = [
    {
      // Limits, not interest: the commands stay after the intake acknowledged them, for the
      // horizon, so what Redis loses is taken in again from here (partition-intake.ts).
      name: names.commandStream,
      subjects: names.commandSubjects,
      retention: 'limits',
      maxAgeMs: limits.inboundMaxAgeMs,
      maxBytes: 0,
      ...(limits.commandPartitions !== undefined ? { transform: commandTransform(names.prefix, limits.commandPartitions) } : {}),
    },
    { name: names.usageStream, subjects: [names.usage], retention: 'interest', maxAgeMs: limits.inboundMaxAgeMs, maxBytes: 0 },
    { name: names.eventStream, subjects: names.eventSubjects, retention: 'limits', maxAgeMs: limits.eventsMaxAgeMs, maxBytes: limits.eventsMaxBytes },
    // Advisories are core NATS messages: kept in a stream, none is lost while no relay runs.
    { name: names.advisoryStream, subjects: [names.maxDeliveriesAdvisories], retention: 'limits', maxAgeMs: ADVISORY_MAX_AGE_MS, maxBytes: 0 },
  ];
  return streams.map((stream) => ({ ...stream, replicas: limits.replicas }));
}

/** The JetStream configuration of a new stream: always limits retention (see WantedStream). */
export function newStreamConfig(stream: WantedStream, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: stream.name,
    num_replicas: replicas,
    subjects: stream.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: Math.min(DUPLICATE_WINDOW_MS, stream.maxAgeMs) * 1_000_000,
    max_age: stream.maxAgeMs * 1_000_000,
    max_bytes: stream.maxBytes === 0 ? -1 : stream.maxBytes,
    ...(stream.transform ? { subject_transform: stream.transform } : {}),
  };
}

/**
 * Creates the streams when missing, with limits retention and the default limits: inbound
 * commands and usage are captured even while no worker runs; outbound events are stored too,
 * so publishing with Nats-Msg-Id deduplicates a re-published event. Existing streams are left
 * to the stream-retention role, which brings them to the configured retention and limits.
 */
export async function ensureStreams(jsm: JetStreamManager, names: Naming, limits: StreamLimits = DEFAULT_STREAM_LIMITS): Promise<void> {
  for (const stream of wantedStreams(names, limits)) {
    try {
      await jsm.streams.info(stream.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await createStream(jsm, stream);
    }
  }
}

/**
 * Creates a stream. With `auto` replicas and no server information at hand, it asks for three
 * and takes one where the server says it cannot (alone: 10074; a cluster too small: 10023,
 * 10005); the stream-retention role then brings the count to what the cluster allows.
 */
export async function createStream(jsm: JetStreamManager, stream: WantedStream): Promise<void> {
  const setting = stream.replicas ?? 'auto';
  const tries = setting === 'auto' ? [AUTO_REPLICAS, 1] : [setting];
  for (const [k, replicas] of tries.entries()) {
    try {
      await jsm.streams.add(newStreamConfig(stream, replicas));
      return;
    } catch (addErr) {
      const code = jetStreamErrorCode(addErr);
      // Another process created it between our look and our add: that is what we wanted.
      if (code === JetStreamError.STREAM_NAME_IN_USE) return;
      if (k === tries.length - 1 || !TOO_FEW_SERVERS.has(code ?? 0)) throw addErr;
    }
  }
}

/** JetStream's answers to more replicas than it can place. */
const TOO_FEW_SERVERS = new Set<number>([JetStreamError.NOT_CLUSTERED, JetStreamError.INSUFFICIENT_RESOURCES, JetStreamError.NO_SUITABLE_PEERS]);

export { isNotFound };
