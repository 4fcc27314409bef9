import { intOptions, journalOptions } from '@pharaoh/server';
import { MAX_VERSIONS_LIMIT } from './versions.js';

/**
 * The largest schema, in bytes of UTF-8: the wire's own limit for a `text`
 * field (64 KiB), which a large Avro record or .proto file stays well within.
 */
export const DEFAULT_MAX_SCHEMA_BYTES = 65_536;
/** Per shard: 10 million subjects over 1024 shards, far beyond a DLog deployment's topics. */
export const DEFAULT_MAX_SUBJECTS = 10_000;
/** Per subject: Confluent's registries see tens of versions per subject in practice; 1,000 is room for a decade of changes. */
export const DEFAULT_MAX_VERSIONS = 1_000;
/**
 * Per shard, the UTF-8 bytes of every version's schema and subject name:
 * 8 MiB keeps a shard's journal under the kit's 16 MiB compaction size once
 * compacted, so 512 shards fit the pod's 10 GiB volume (docs/OPERATIONS.md,
 * "Capacity"), and a pod's tables stay within 4 GiB of memory at worst.
 */
export const DEFAULT_MAX_SHARD_BYTES = 8 * 1024 * 1024;

/** schema-registry's options (flags, environment variables, bounds), on top of the host's. */
export const SCHEMA_OPTIONS = intOptions({
  maxSchemaBytes: { flag: '--max-schema-bytes <n>', env: 'PHARAOH_SCHEMA_MAX_SCHEMA_BYTES', description: 'largest schema (UTF-8 bytes)', default: DEFAULT_MAX_SCHEMA_BYTES, min: 1, max: 65_536 },
  maxSubjects: { flag: '--max-subjects <n>', env: 'PHARAOH_SCHEMA_MAX_SUBJECTS', description: 'subjects per shard before SCHEMA_LIMIT', default: DEFAULT_MAX_SUBJECTS, min: 1, max: 1_000_000 },
  maxVersions: { flag: '--max-versions <n>', env: 'PHARAOH_SCHEMA_MAX_VERSIONS', description: 'versions per subject before SCHEMA_LIMIT', default: DEFAULT_MAX_VERSIONS, min: 1, max: MAX_VERSIONS_LIMIT },
  maxShardBytes: { flag: '--max-shard-bytes <n>', env: 'PHARAOH_SCHEMA_MAX_SHARD_BYTES', description: 'schema and subject bytes per shard before SCHEMA_LIMIT', default: DEFAULT_MAX_SHARD_BYTES, min: 1024, max: 1024 ** 3 },
  ...journalOptions('PHARAOH_SCHEMA'),
});

export type SchemaRegistryOptions = ReturnType<typeof SCHEMA_OPTIONS.parse>;
/** What the table itself reads. */
export type SchemaTableOptions = Pick<SchemaRegistryOptions, 'maxSchemaBytes' | 'maxSubjects' | 'maxVersions' | 'maxShardBytes'>;

/** The one validating parser of schema-registry options (`ServerOptions.app`): fills defaults, refuses nonsense (BAD_OPTIONS). */
export const parseSchemaOptions = (app?: Record<string, unknown>): SchemaRegistryOptions => SCHEMA_OPTIONS.parse(app);
