/**
 * The crash test's service plug-ins (see plugin.ts). tso, txcoord and
 * session-mgr are driven by the worker's built-in loops; every other service
 * joins the chaos test by adding its plug-in file here.
 */
import type { ChaosPlugin } from './plugin.js';
import { groupCoordPlugin } from './group-coord.js';
import { schemaRegistryPlugin } from './schema-registry.js';
import { sequencerPlugin } from './sequencer.js';

export const PLUGINS: readonly ChaosPlugin[] = [groupCoordPlugin as ChaosPlugin, schemaRegistryPlugin as ChaosPlugin, sequencerPlugin as ChaosPlugin];
