import { z } from 'zod';
import { webhookSecretProblem } from './webhook-secret.js';
import { redisTarget } from './redis-url.js';
import { serverAddresses } from './server-addresses.js';


function urlWithSchemes(name: string, schemes: string[]) {
  return z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `${name} must be a URL with scheme ${schemes.map((s) => `${s}://`).join(' or ')}` },
  );
}

/** One URL, or a comma-separated list of them (the servers of a NATS cluster), each with one of `schemes`. */
function urlListWithSchemes(name: string, schemes: string[]) {
  const one = urlWithSchemes(name, schemes);
  return z.string().refine((value) => value.split(',').every((url) => one.safeParse(url.trim()).success), {
    message: `${name} must be a URL with scheme ${schemes.map((s) => `${s}://`).join(' or ')}, or a comma-separated list of them`,
  });
}

/** A Redis URL, or a Redis Cluster URL: redis+cluster://host:port,host:port (src/infra/redis.ts). */
const redisUrl = z.string().superRefine((value, ctx) => {
  if (!/^rediss?\+cluster:\/\//i.test(value)) {
    if (!urlWithSchemes('REDIS_URL', ['redis', 'rediss']).safeParse(value).success) {
      ctx.addIssue({ code: 'custom', message: 'REDIS_URL must be a URL with scheme redis:// or rediss://, or a Redis Cluster URL redis+cluster://host:port,host:port (rediss+cluster:// for TLS)' });
    }
    return;
  }
  try {
    redisTarget(value);
    serverAddresses(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `REDIS_URL: ${(err as Error).message}` });
  }
});

/** A MongoDB URL; its hosts may be a seed list (a replica set's members, mongos routers), which WHATWG URL parsing refuses. */
const mongoUrl = z.string().refine(
  (value) => {
    if (!/^mongodb(\+srv)?:\/\//i.test(value)) return false;
    try {
      return serverAddresses(value).length > 0;
    } catch {
      return false;
    }
  },
  { message: 'MONGO_URL must be a URL with scheme mongodb:// or mongodb+srv://, hosts host[:port] separated by commas' },
);

/** The environment of CONTRACT.md, plus the project's own additions (documented in docs/configuration.md). */
export const configSchema = z.object({
  NATS_URL: urlListWithSchemes('NATS_URL', ['nats', 'tls']).default('nats://127.0.0.1:4222'),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  MONGO_URL: mongoUrl.default('mongodb://127.0.0.1:27017/opensim'),
  OPENSIM_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'OPENSIM_SUBJECT_PREFIX must be dot-separated tokens of [A-Za-z0-9_-]')
    .default('opensim'),
  OPENSIM_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  // Additions of this project (docs/configuration.md):
  // 32: on the test server, full speed rose from 143/s at 8 to 175/s at 32, 190/s at 64 and
  // 205/s at 128, while each partition costs a Redis connection, a consumer and start-up time
  // (BENCHMARKS.md, "Partitions"). Up to 8 in earlier versions: an upgrade migrates by itself.
  OPENSIM_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(32),
  OPENSIM_INTAKE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(256),
  OPENSIM_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  OPENSIM_RETRY_BASE_MS: z.coerce.number().int().min(1).default(250),
  OPENSIM_RETRY_MAX_MS: z.coerce.number().int().min(1).default(15_000),
  OPENSIM_LOCK_DURATION_MS: z.coerce.number().int().min(200).default(30_000),
  /** How often the scheduler looks for scheduled changes due whose trigger was lost. */
  OPENSIM_SCHEDULE_SWEEP_MS: z.coerce.number().int().min(50).default(5_000),
  /** Times a job whose worker stalled past its lock is run again before it ends failed (dead-lettered STALLED_TOO_OFTEN). */
  OPENSIM_MAX_STALLED_COUNT: z.coerce.number().int().min(0).max(100).default(5),
  OPENSIM_RELAY_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
  OPENSIM_SWEEP_FULL_MS: z.coerce.number().int().min(10).default(30_000),
  OPENSIM_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  OPENSIM_FAILPOINT: z.string().optional(),
  // Operations (docs/operations.md):
  /** Bearer token of GET /metrics and the queue board; unset → those routes answer 503. */
  OPENSIM_ADMIN_TOKEN: z.string().min(16, 'OPENSIM_ADMIN_TOKEN must be at least 16 characters').optional(),
  OPENSIM_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(256).max(8 * 1024 * 1024).default(64 * 1024),
  /** Deliveries of one inbound message before JetStream gives up on it (it is then dead-lettered). */
  OPENSIM_INTAKE_MAX_DELIVER: z.coerce.number().int().min(1).max(1000).default(20),
  OPENSIM_INTAKE_ACK_WAIT_MS: z.coerce.number().int().min(500).default(30_000),
  /** Time to live of the lease that lets one process at a time take commands in (failover after a crash takes this long). */
  OPENSIM_INTAKE_LEASE_MS: z.coerce.number().int().min(300).default(10_000),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_TOKEN: z.string().optional(),
  /** A `.creds` file (JWT + NKey seed), as made by `nsc`. */
  NATS_CREDS: z.string().optional(),
  /** PEM file of the CA that signed the NATS server's certificate (tls:// URLs), when not a public one. */
  NATS_TLS_CA: z.string().optional(),
  /** Inbox prefix of this process's request replies, for servers whose permissions confine each user to its own inboxes. */
  NATS_INBOX_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).optional(),
  // Usage monitoring, threshold alerts and month rollover (docs/monitoring-and-console.md):
  /** Usage messages delivered and not yet acknowledged, at most (JetStream's max_ack_pending): the memory bound under a burst. */
  OPENSIM_USAGE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(20_000),
  /** Usage records written in one batch, at most (one update per line per batch). */
  OPENSIM_USAGE_BATCH_MAX: z.coerce.number().int().min(1).max(50_000).default(10_000),
  /** How long a batch that is not full waits for more records (its oldest record's age). */
  OPENSIM_USAGE_BATCH_LINGER_MS: z.coerce.number().int().min(0).default(20),
  OPENSIM_USAGE_ACK_WAIT_MS: z.coerce.number().int().min(500).default(60_000),
  /** At most one usage.updated per line per interval (the last one always sent). */
  OPENSIM_USAGE_UPDATED_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  /** How far the heap may grow past what its last full collection kept, in % (runtime/heap.ts); 0: V8's own heuristics. */
  OPENSIM_HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(400).default(25),
  /** When the month rollover runs, a cron pattern read in Europe/Paris time. */
  OPENSIM_ROLLOVER_CRON: z.string().min(9).default('0 0 1 * *'),
  OPENSIM_ROLLOVER_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Set: warnings are POSTed there (JSON, signed per Standard Webhooks). Unset: the SMS text is recorded in MongoDB. */
  OPENSIM_ALERTS_WEBHOOK_URL: urlWithSchemes('OPENSIM_ALERTS_WEBHOOK_URL', ['http', 'https'])
    // fetch refuses a URL with credentials; the receiver authenticates us by the signature instead.
    .refine((value) => !hasCredentials(value), { message: 'OPENSIM_ALERTS_WEBHOOK_URL must not carry credentials (user:password@): receivers verify the signature (OPENSIM_ALERTS_WEBHOOK_SECRET)' })
    .optional(),
  OPENSIM_ALERTS_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  /** Standard Webhooks signing secret, `whsec_` + base64; required with OPENSIM_ALERTS_WEBHOOK_URL. */
  OPENSIM_ALERTS_WEBHOOK_SECRET: z
    .string()
    .refine((value) => webhookSecretProblem(value) === null, { message: 'OPENSIM_ALERTS_WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 random bytes' })
    .optional(),
  /** Deliveries of one warning to a webhook answering 5xx, 408, 429 or timing out, before it is dead-lettered. */
  OPENSIM_ALERTS_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  // Retention (docs/operations.md):
  /** COMMANDS and USAGE keep a message until taken in; this is the safety net for one never taken in. */
  OPENSIM_INBOUND_MAX_AGE_HOURS: z.coerce.number().int().min(1).default(168),
  /** EVENTS keeps events this long (a subscriber down for a day catches up) … */
  OPENSIM_EVENTS_MAX_AGE_HOURS: z.coerce.number().int().min(1).default(72),
  /** … and at most this much (MiB), the oldest dropped first. JetStream reserves it up front against the server's storage limit. */
  OPENSIM_EVENTS_MAX_MIB: z.coerce.number().int().min(1).default(4_096),
  /** Replicas of each stream: `auto` = 3 on a JetStream cluster of three nodes or more, else 1 (streams.ts); updated in place. */
  OPENSIM_STREAM_REPLICAS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(5)]).default('auto'),
  /** How often each process checks the streams' limits and retention against the configuration. */
  OPENSIM_STREAMS_CHECK_MS: z.coerce.number().int().min(100).default(60_000),
  /** Decision records, usage claims and warnings kept at least this long: a resend within it changes nothing. */
  OPENSIM_RECORDS_RETENTION_DAYS: z.coerce.number().int().min(1).default(400),
  /** Pace of the expiry pass over those records (one process per pass). */
  OPENSIM_RECORDS_EXPIRY_INTERVAL_MS: z.coerce.number().int().min(100).default(3_600_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

function hasCredentials(value: string): boolean {
  try {
    const url = new URL(value);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads and validates the configuration; a bad value is refused with the variable's name. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set": docker-compose passes `VAR=` through as ''.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (parsed.success) {
    // A warning is never posted unsigned: receivers could not tell it from anyone's.
    if (parsed.data.OPENSIM_ALERTS_WEBHOOK_URL && !parsed.data.OPENSIM_ALERTS_WEBHOOK_SECRET) {
      throw new ConfigError(['OPENSIM_ALERTS_WEBHOOK_SECRET: required when OPENSIM_ALERTS_WEBHOOK_URL is set (whsec_ + base64, as the receiver was given)']);
    }
    // A command taken in again after Redis lost it must find its decision record, if it had one.
    if (parsed.data.OPENSIM_INBOUND_MAX_AGE_HOURS >= parsed.data.OPENSIM_RECORDS_RETENTION_DAYS * 24) {
      throw new ConfigError([
        `OPENSIM_INBOUND_MAX_AGE_HOURS: ${parsed.data.OPENSIM_INBOUND_MAX_AGE_HOURS} h must be shorter than OPENSIM_RECORDS_RETENTION_DAYS (${parsed.data.OPENSIM_RECORDS_RETENTION_DAYS} days): commands are taken in again from the stream after a Redis loss, and each must still find its decision record`,
      ]);
    }
    return parsed.data;
  }
  throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
}

