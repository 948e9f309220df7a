import { planChangeFailed } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import type { OutboxEntry } from '../store/documents.js';
import type { CommandJob } from '../queues/command-queues.js';

/**
 * The `plan-change.failed` event of a command whose retries are spent. Its id depends only on
 * the request, so the worker's immediate publish and the dead letter's are one event.
 * CONTRACT.md has no `failed` type for resource orders: those end as dead letters only.
 */
export function failedOutcome(
  prefix: string,
  command: CommandJob,
  progress: { attempts: number; lastError: string },
  at: string,
): OutboxEntry | undefined {
  if (command.kind !== 'plan-change') return undefined;
  const { requestId, clientAccountId, lineId } = command.request;
  const event = planChangeFailed({ requestId, clientAccountId, lineId, attempts: progress.attempts, error: progress.lastError });
  return toOutboxEntry(prefix, event, at);
}
