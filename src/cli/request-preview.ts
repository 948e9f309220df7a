import { planChangePreviewQuerySchema } from '../contract/queries.js';
import type { PlanChangePreview } from '../domain/index.js';
import type { RequestKind } from './request-kinds.js';
import { checked, gib, optional, required } from './request-flags.js';

/**
 * `preview`: what a plan change would do, asked on `<prefix>.qry.plan-change-preview.<account>`
 * (the same decision and envelope as the real change, nothing written, no event). Exit 0 when
 * the change would be applied or scheduled, 1 when it would be rejected or the query is refused.
 */
export const planChangePreview: RequestKind = {
  flagsHelp: `  --account <id>      client account (clientAccountId; the subject's last token)
  --service <ref>     service of the line (serviceRef)
  --line <id>         the line whose plan would change (lineId)
  --target <id>       the resource to move the line to (targetResourceId)
  --at <t>            when it would take effect (effectiveAt), RFC 3339 with an offset; absent: at once
  --requested-at <t>  RFC 3339 instant with an offset (default: the system's now)
  --json              print the reply as JSON (stdout) instead of lines
  --timeout <s>       how long to wait for the reply: 30 (seconds), 90s, 2m (default 30s)`,
  options: {
    account: { type: 'string' },
    service: { type: 'string' },
    line: { type: 'string' },
    target: { type: 'string' },
    at: { type: 'string' },
    'requested-at': { type: 'string' },
  },
  build(values) {
    const at = optional(values, 'at');
    const requestedAt = optional(values, 'requested-at');
    const body = checked(
      planChangePreviewQuerySchema,
      {
        clientAccountId: required(values, 'account'),
        serviceRef: required(values, 'service'),
        lineId: required(values, 'line'),
        targetResourceId: required(values, 'target'),
        ...(requestedAt === undefined ? {} : { requestedAt }),
        ...(at === undefined ? {} : { effectiveAt: at }),
      },
      { clientAccountId: '--account', serviceRef: '--service', lineId: '--line', targetResourceId: '--target', requestedAt: '--requested-at', effectiveAt: '--at' },
    );
    const what = `preview of ${body.lineId} -> ${body.targetResourceId}`;
    return {
      mode: 'query',
      subject: `qry.plan-change-preview.${body.clientAccountId}`,
      body,
      label: what,
      succeeded: (reply) => reply.outcome === 'applied' || reply.outcome === 'scheduled',
      describe: (reply) => describePreview(what, reply),
    };
  },
};

/** The reply in lines: the outcome first, then the figures after the change (CONTRACT.md's fields). */
export function describePreview(what: string, reply: Record<string, unknown>): string {
  if ('error' in reply) {
    const { code, message } = reply.error as { code: string; message: string };
    return `error     ${what}: ${code} (${message})`;
  }
  const p = reply as unknown as PlanChangePreview;
  if (p.outcome === 'rejected') return `rejected  ${what}: ${p.reason}${p.message ? ` (${p.message})` : ''}`;
  const { envelope, thresholds, usage } = p;
  const euros = (cents: number | null) => (cents === null ? 'none' : `${(cents / 100).toFixed(2)} EUR`);
  return [
    `${p.outcome.padEnd(9)} ${what} at ${p.effectiveAt}`,
    `  envelope    ${envelope!.month}: ${envelope!.totalBytes === null ? 'metered (no envelope)' : gib(envelope!.totalBytes)}`,
    `  thresholds  reduction ${gib(thresholds!.reductionBytes)}, block ${gib(thresholds!.blockBytes)}, cost cap ${euros(thresholds!.costCapCents)}`,
    `  usage       ${gib(usage!.usedBytes)} used so far (France ${gib(usage!.frBytes)}, Europe ${gib(usage!.euBytes)}), spend ${euros(usage!.spendCents)}`,
    `  exposure    ${gib(p.overageExposureBytes)} between the envelope and the block threshold`,
    `  data state  ${p.dataStateAfter} after the change`,
    `  at once     ${p.crossedAtOnce.length === 0 ? 'no threshold crossed' : `crosses ${p.crossedAtOnce.join(', ')}`}`,
  ].join('\n');
}
