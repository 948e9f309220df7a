/** The public API of the OpenSIM domain: pure functions of (command, state, now). */
export * from './calendar.js';
export * from './catalog.js';
export * from './line.js';
export * from './envelope.js';
export * from './thresholds.js';
export * from './line-month.js';
export * from './events.js';
export * from './reasons.js';
export { evaluateThresholds } from './monitoring.js';
export * from './rollover.js';
export * from './change-plan.js';
export * from './order-resource.js';
export * from './usage.js';
export * from './usage-batch.js';
export * from './usage-notice.js';
export * from './enforcement.js';
export * from './line-view.js';
