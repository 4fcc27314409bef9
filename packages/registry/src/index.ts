/** @pharaoh/registry: the one list of Pharaoh services (see services.ts) and the shape of an entry. */
export { REGISTRY, TSO, TXCOORD, SESSION_MGR, GROUP_COORD, GROUP_LAYOUT, SCHEMA_REGISTRY } from './services.js';
export { SEQUENCER } from './services.js';
export type { ServiceName, TxStatus, SessionStatus } from './services.js';
export { defineService, Registry, RegistryError } from './define.js';
export type { ServiceSpec, OpsOf, ServiceArgs, ServiceResult } from './define.js';
export { serviceTable } from './table.js';
