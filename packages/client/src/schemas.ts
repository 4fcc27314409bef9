/**
 * Schema ids (service `schema-registry`): `client.schemas.*`. A subject's
 * calls go to `shardForKey(subject)` (schema-registry refuses a subject on
 * any other shard, so this never fails over); `get` goes to the shard in the
 * schema id's bits. Typed calls over `client.service(SCHEMA_REGISTRY)`.
 */
import { MAX_NAME_BYTES, MAX_TEXT_BYTES } from '@pharaoh/protocol';
import type { SCHEMA_REGISTRY, ServiceResult } from '@pharaoh/registry';
import { InvalidArgumentError } from './errors.js';
import type { ServiceClient } from './client.js';

type Spec = typeof SCHEMA_REGISTRY;
/** The formats a schema may be registered in. */
export type SchemaFormat = ServiceResult<Spec, 'schema.get'>['format'];
export type SchemaRegistered = ServiceResult<Spec, 'schema.register'>;
export type SchemaInfo = ServiceResult<Spec, 'schema.get'>;
export type SchemaVersions = ServiceResult<Spec, 'schema.versions'>['versions'];
export type LatestSchema = ServiceResult<Spec, 'schema.latest'>;

function checkString(what: string, v: unknown, max: number): asserts v is string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v, 'utf8') > max) {
    throw new InvalidArgumentError(`${what} must be a string of 1..${max} bytes of UTF-8`);
  }
}

export class SchemasApi {
  constructor(private readonly service: ServiceClient<Spec>) {}

  /**
   * Register `schema` under `subject`: resolves once durable with its schema
   * id and the subject's version. The same schema (same format and canonical
   * form) under the same subject always answers the same pair.
   */
  register(subject: string, schema: string, format: SchemaFormat): Promise<SchemaRegistered> {
    try {
      checkString('subject', subject, MAX_NAME_BYTES);
      checkString('schema', schema, MAX_TEXT_BYTES);
      checkString('format', format, MAX_NAME_BYTES);
      return this.service.call('schema.register', { subject, schema, format }, { key: subject });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The subject, version, schema and format of a schema id (SchemaNotFoundError if unknown). */
  get(schemaId: bigint): Promise<SchemaInfo> {
    return this.service.call('schema.get', { schemaId });
  }

  /** Every version of `subject`, oldest first, with its schema id (SchemaNotFoundError for an unknown subject). */
  async versions(subject: string): Promise<SchemaVersions> {
    checkString('subject', subject, MAX_NAME_BYTES);
    return (await this.service.call('schema.versions', { subject }, { key: subject })).versions;
  }

  /** The highest version of `subject` (SchemaNotFoundError for an unknown subject). */
  latest(subject: string): Promise<LatestSchema> {
    try {
      checkString('subject', subject, MAX_NAME_BYTES);
      return this.service.call('schema.latest', { subject }, { key: subject });
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
