/**
 * @pharaoh/cli: the `pharaoh` command. Its modules are exported for tests,
 * benchmarks and tools that drive fleets programmatically.
 */
export { CliError, CLI_ERROR_CODES } from './errors.js';
export type { CliErrorCode } from './errors.js';
export {
  fleetFileSchema,
  parseFleet,
  loadFleet,
  defaultFleetFile,
  uncoveredShards,
  intersectRanges,
  DEFAULT_HOST,
  DEFAULT_DATA_DIR,
  defaultPorts,
  DEFAULT_FLEET_SOURCE,
} from './fleet-file.js';
export type { Fleet, FleetFile, FleetFileMember, FleetMember } from './fleet-file.js';
export { parseId, decodeAll, formatDecoded, formatTable, layoutsOf } from './decode.js';
export type { DecodedRow } from './decode.js';
export { shardsForOrdinal, podsForShardsPerPod, ordinalFromPodName, DOCUMENTED_SHARDS_PER_POD } from './ordinal.js';
export { k8sFleetFile } from './k8s-fleet.js';
export type { K8sFleetOptions } from './k8s-fleet.js';
export { fleetUp } from './fleet/up.js';
export type { FleetUpOptions } from './fleet/up.js';
export { fleetStatus, formatStatus } from './fleet/status.js';
export type { MemberStatus } from './fleet/status.js';
export { fleetDown } from './fleet/down.js';
export { FleetSupervisor, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS } from './fleet/supervisor.js';
export type { SupervisorOptions } from './fleet/supervisor.js';
export { freePort, freePorts } from './fleet/preflight.js';
export { runChaos, DEFAULT_CHAOS_OPTIONS } from './chaos/run.js';
export { chaosOptions } from './chaos/command.js';
export { formatSummary, summaryMarkdown } from './chaos/summary.js';
export type { ChaosOptions, ChaosSummary } from './chaos/run.js';
export { runChecks, CLOCK_GAP_MS } from './chaos/check.js';
export type { CheckInput, CheckResult, CheckStats, Violation } from './chaos/check.js';
export { buildProgram } from './main.js';
