import { ThresholdAlerts } from '../alerts/threshold-alerts.js';
import { MonthRollover } from '../rollover/month-rollover.js';
import { RecordExpiry } from '../retention/record-expiry-role.js';
import { StreamRetention } from '../retention/stream-retention.js';
import { UsageIntake } from '../usage/usage-intake.js';
import { UsageNotices } from '../usage/usage-notices.js';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role } from './system.js';

/**
 * The roles of usage monitoring (docs/monitoring-and-console.md), started after the command pipeline's
 * (and so stopped before it): usage intake, held-back usage.updated, threshold alerts, month
 * rollover. `opensim alerts` runs the alert consumer alone. Retention comes first: the streams'
 * limits and retention (switched to interest once the consumers exist) and the expiry of old
 * decision records, usage claims and warnings (docs/operations.md).
 */
export function monitoringRoles(pipeline: Pipeline): Role[] {
  return [new StreamRetention(), new RecordExpiry(pipeline), new MonthRollover(pipeline), new UsageNotices(pipeline), new ThresholdAlerts(pipeline), new UsageIntake(pipeline)];
}
