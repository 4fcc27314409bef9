export { runHosts, formatSummary, cleanupActiveSync, DEFAULT_OPTIONS } from './run.js';
export type { HostsOptions, HostsResult } from './run.js';
export { SCENARIOS } from './scenarios.js';
export type { ScenarioName, ScenarioResult } from './scenarios.js';
export { checkAll, checkOrder, HANG_SLACK_MS } from './check.js';
export type { Violation } from './check.js';
export { unavailableReason, removeLeftovers, PREFIX } from './net.js';
export { opensslAvailable } from './fleet.js';
