/**
 * What other fault tools reuse of the crash test (`@pharaoh/cli/chaos`): its
 * service plug-ins — load step, events, checks — and its pure ID checks. The
 * power-cut tool (tools/powercut) drives group-coord, schema-registry and the
 * sequencer with these, so each invariant is written once.
 */
export { PLUGINS } from './services/index.js';
export { groupCoordPlugin, groupCalls } from './services/group-coord.js';
export { schemaRegistryPlugin, schemaCalls } from './services/schema-registry.js';
export { sequencerPlugin, takeEach, subsetSums } from './services/sequencer.js';
export { servedKey } from './services/plugin.js';
export type { ChaosPlugin, PluginEvent, StepContext, CallStart, CallTimes } from './services/plugin.js';
export { checkUnique, checkShardOrder, checkCrossRestart, CLOCK_GAP_MS } from './check.js';
export type { Issue, Violation } from './check.js';
export type { HarnessEvent } from './events.js';
