/**
 * schema-registry's answers to clients (BAD_REQUEST, NOT_OWNER,
 * SCHEMA_NOT_FOUND, SCHEMA_LIMIT, OVERLOADED, SHARD_UNAVAILABLE):
 * `ProtocolError`s from @pharaoh/protocol, built here so each is worded once.
 * (Bad options and bad journal records are the kit's BAD_OPTIONS /
 * BAD_RECORD, see @pharaoh/server.)
 */
import { ERROR_CODES, ProtocolError } from '@pharaoh/protocol';

/** The `schema` field is not a schema of its format (not JSON, empty, too deep, too large). */
export function badSchema(format: string, why: string): ProtocolError {
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `schema.register: schema is not a valid ${format} schema: ${why}`, { field: 'schema' });
}

export function badFormat(format: string, formats: readonly string[]): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.BAD_REQUEST,
    `schema.register: format must be one of ${formats.join(', ')}, got ${JSON.stringify(format.slice(0, 40))}`,
    { field: 'format' },
  );
}

export function schemaTooLarge(bytes: number, max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `schema.register: schema is ${bytes} bytes of UTF-8, more than this shard's limit of ${max} (--max-schema-bytes)`, {
    field: 'schema',
  });
}

/** A subject belongs to the shard its name hashes to: its versions live in one journal. */
export function wrongShard(subject: string, owner: number, shard: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.NOT_OWNER, `subject ${JSON.stringify(subject)} belongs to schema shard ${owner} (FNV-1a hash % 1024), not shard ${shard}`, {
    shard: owner,
  });
}

export function subjectNotFound(subject: string): ProtocolError {
  return new ProtocolError(ERROR_CODES.SCHEMA_NOT_FOUND, `subject ${JSON.stringify(subject)} has no schema on this shard`);
}

/** `restoredAt` set: the id predates a restore of this shard, so it may have been registered after the backup. */
export function idNotFound(id: bigint, restoredAt?: number): ProtocolError {
  const why =
    restoredAt === undefined
      ? ''
      : `; this shard was restored from a backup at ${new Date(restoredAt).toISOString()} and the id predates it: it may have been registered after the backup, so register the schema again (it gets a new id)`;
  return new ProtocolError(ERROR_CODES.SCHEMA_NOT_FOUND, `no schema has id ${id} on this shard${why}`);
}

export function tooManySubjects(max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.SCHEMA_LIMIT, `this shard already has ${max} subjects (--max-subjects); a new subject cannot be registered here`);
}

export function tooManyVersions(subject: string, max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.SCHEMA_LIMIT, `subject ${JSON.stringify(subject)} already has ${max} versions (--max-versions); no new version can be registered`);
}

export function shardFull(used: number, adding: number, max: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.SCHEMA_LIMIT,
    `this shard stores ${used} bytes of schemas and subjects; ${adding} more would pass its limit of ${max} (--max-shard-bytes)`,
  );
}

/**
 * A subject's next version would run more than `leadS` seconds ahead of the
 * clock: only right after a restore (versions then start at a time-based
 * floor, see src/versions.ts), and time catches up at one version a second.
 */
export function versionsTooFarAhead(subject: string, next: number, nowSec: number, leadS: number): ProtocolError {
  const waitS = next - nowSec - leadS;
  return new ProtocolError(
    ERROR_CODES.OVERLOADED,
    `subject ${JSON.stringify(subject)}: its next version ${next} would be more than ${leadS} s ahead of the clock ` +
      `(after a restore, versions count from a time-based floor so a lost version number is never reused); retry in about ${waitS} s`,
  );
}

/** The shard's table is closing: answered as SHARD_UNAVAILABLE, the client tries again later. */
export function tableClosed(): ProtocolError {
  return new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, 'this schema-registry shard is closing');
}
