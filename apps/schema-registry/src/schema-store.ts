/**
 * The in-memory state of one schema-registry shard: every version of every
 * subject, by subject and by schema id. It holds only durable facts: a
 * version enters it by replay, or once its journal record is durable.
 */
import type { SchemaFormat } from './canonical.js';
import type { RegisterRecord } from './records.js';

/**
 * A subject's compatibility level. Only NONE today (every schema is
 * accepted); BACKWARD, FORWARD, FULL (and their _TRANSITIVE forms) are the
 * documented next step, journaled per subject when set.
 */
export type Compatibility = 'NONE';

/** One registered version: immutable once durable. */
export interface SchemaVersion {
  id: bigint;
  subject: string;
  version: number;
  format: SchemaFormat;
  /** The text as first registered (later registrations of the same canonical form return this one). */
  schema: string;
  /** src/canonical.ts: lowercase hex SHA-256 of `<FORMAT>\n<canonical form>`. */
  fingerprint: string;
}

/**
 * One subject. Invariants: `versions` is sorted by version, strictly
 * increasing; each fingerprint maps to exactly one version and each version
 * to one id; nothing is ever removed.
 */
export interface Subject {
  name: string;
  compatibility: Compatibility;
  versions: SchemaVersion[];
  byFingerprint: Map<string, SchemaVersion>;
}

/** The bytes a version counts against `maxShardBytes`: its schema's and its subject's UTF-8. */
export function storedBytes(subject: string, schema: string): number {
  return Buffer.byteLength(subject, 'utf8') + Buffer.byteLength(schema, 'utf8');
}

export class SchemaStore {
  readonly subjects = new Map<string, Subject>();
  /** Every version by schema id, in the order they became durable (the snapshot's order). */
  readonly byId = new Map<bigint, SchemaVersion>();
  /** Sum of `storedBytes` over every version. */
  bytes = 0;

  /**
   * Add the version a record states. A record already applied (same id, same
   * facts) is a no-op; a record that contradicts the table (an id, version or
   * fingerprint taken by another version) throws: the journal is not one this
   * table wrote, and the shard must not serve from it.
   */
  apply(rec: RegisterRecord): void {
    const known = this.byId.get(rec.id);
    if (known !== undefined) {
      if (known.subject === rec.s && known.version === rec.v && known.fingerprint === rec.h) return;
      throw new Error(`schema id ${rec.id} is both ${known.subject} v${known.version} and ${rec.s} v${rec.v}`);
    }
    let subject = this.subjects.get(rec.s);
    if (subject === undefined) {
      subject = { name: rec.s, compatibility: 'NONE', versions: [], byFingerprint: new Map() };
      this.subjects.set(rec.s, subject);
    }
    if (subject.byFingerprint.has(rec.h)) throw new Error(`subject ${rec.s}: fingerprint ${rec.h} registered twice`);
    if (subject.versions.some((x) => x.version === rec.v)) throw new Error(`subject ${rec.s}: version ${rec.v} registered twice`);
    const entry: SchemaVersion = { id: rec.id, subject: rec.s, version: rec.v, format: rec.f, schema: rec.x, fingerprint: rec.h };
    const after = subject.versions.findIndex((x) => x.version > rec.v);
    if (after === -1) subject.versions.push(entry);
    else subject.versions.splice(after, 0, entry);
    subject.byFingerprint.set(rec.h, entry);
    this.byId.set(rec.id, entry);
    this.bytes += storedBytes(rec.s, rec.x);
  }

  /** The highest version of `subject`, or 0 when it has none. */
  latestVersion(subject: string): number {
    const versions = this.subjects.get(subject)?.versions;
    return versions === undefined || versions.length === 0 ? 0 : versions[versions.length - 1]!.version;
  }

  /** Every version as its record: what a compacted journal holds (nothing is ever dropped). */
  snapshot(): RegisterRecord[] {
    const out: RegisterRecord[] = [];
    for (const e of this.byId.values()) out.push({ t: 'r', id: e.id, s: e.subject, v: e.version, f: e.format, x: e.schema, h: e.fingerprint });
    return out;
  }
}
