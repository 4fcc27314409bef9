/** @pharaoh/schema-registry: the Schema-id Registry (per-subject versions, one id per canonical schema, journaled). */
export { schemaService } from './service.js';
export type { SchemaShard } from './service.js';
export { SchemaTable } from './schema-table.js';
export type { LatestSchema, Registered, SchemaIdSource, SchemaInfo, SchemaJournal, SchemaJournalHooks, SchemaTableDeps } from './schema-table.js';
export type { Compatibility, SchemaVersion, Subject } from './schema-store.js';
export { SCHEMA_FORMATS, MAX_SCHEMA_DEPTH, canonicalForm, fingerprintOf, isSchemaFormat } from './canonical.js';
export type { SchemaFormat } from './canonical.js';
export { MAX_VERSION_LEAD_S, MAX_VERSIONS_LIMIT, SubjectVersions, versionFloorAfter } from './versions.js';
export type { VersionRestore } from './versions.js';
export {
  DEFAULT_MAX_SCHEMA_BYTES,
  DEFAULT_MAX_SUBJECTS,
  DEFAULT_MAX_VERSIONS,
  DEFAULT_MAX_SHARD_BYTES,
  SCHEMA_OPTIONS,
  parseSchemaOptions,
} from './options.js';
export type { SchemaTableOptions, SchemaRegistryOptions } from './options.js';
export { parseSchemaRecord } from './records.js';
export type { SchemaRecord, RegisterRecord } from './records.js';
/** The journal options every journaled service shares (the kit's defaults). */
export { DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_COMPACT_AT_BYTES } from '@pharaoh/server';
