/**
 * The schema table of one schema-registry shard: subjects, their versions and
 * schema ids. Pure domain logic over an injected clock, ID source, journal,
 * layout and restore facts.
 *
 * Invariants:
 * - A subject belongs to shard `shardForKey(subject)`; every other shard
 *   refuses it (NOT_OWNER), so its versions live in one journal.
 * - Within a subject each (format, canonical form) has exactly one version
 *   and one schema id, for good: registering it again answers the same pair.
 * - Versions of a subject strictly increase: 1, 2, 3, … on a shard never
 *   restored; above the restore floor after a restore (src/versions.ts), so
 *   a version number never comes to mean another schema.
 * - Schema ids are fresh IDs of the shard's SCHEMA-layout generator: unique,
 *   never reissued across crashes and restores, the shard in their bits.
 * - Durable before acknowledged: a new version is answered only once its
 *   journal record is (group commit). The store holds only durable versions,
 *   so every read answers from durable state.
 *
 * Registrations of one subject run one at a time (the next version depends
 * on the last); different subjects share the journal's group commit.
 */
import { shardForKey } from '@pharaoh/protocol';
import type { JournalHooks, TableJournal } from '@pharaoh/server';
import type { Layout } from '@pharaoh/snowflake';
import { canonicalForm, fingerprintOf, isSchemaFormat, SCHEMA_FORMATS, type SchemaFormat } from './canonical.js';
import {
  badFormat,
  idNotFound,
  schemaTooLarge,
  shardFull,
  subjectNotFound,
  tableClosed,
  tooManySubjects,
  tooManyVersions,
  versionsTooFarAhead,
  wrongShard,
} from './errors.js';
import type { SchemaTableOptions } from './options.js';
import { parseSchemaRecord, type SchemaRecord } from './records.js';
import { SchemaStore, storedBytes, type SchemaVersion } from './schema-store.js';
import { MAX_VERSION_LEAD_S, SubjectVersions, type VersionRestore } from './versions.js';

/** The part of @pharaoh/snowflake's IdGenerator the table uses. */
export interface SchemaIdSource {
  next(after?: bigint): Promise<bigint>;
}

export type SchemaJournal = TableJournal<SchemaRecord>;
export type SchemaJournalHooks = JournalHooks<SchemaRecord>;

export interface SchemaTableDeps {
  /** The shard this table serves: subjects must hash to it. */
  shard: number;
  ids: SchemaIdSource;
  clock: { now(): number };
  /** The SCHEMA layout: versions after a restore count seconds from its epoch; an id's time field dates it against a restore. */
  layout: Pick<Layout, 'epochMs' | 'timeOf' | 'unitAt'>;
  /** Set when the shard was restored from a backup (the server's RestoreMark). */
  restored?: VersionRestore | undefined;
  openJournal(hooks: SchemaJournalHooks): Promise<SchemaJournal>;
}

/** `schema.register`'s answer. */
export interface Registered {
  schemaId: bigint;
  version: number;
}

/** `schema.get`'s answer. */
export interface SchemaInfo {
  subject: string;
  version: number;
  schema: string;
  format: SchemaFormat;
}

/** `schema.latest`'s answer. */
export interface LatestSchema {
  schemaId: bigint;
  version: number;
  schema: string;
  format: SchemaFormat;
}

export class SchemaTable {
  private journal: SchemaJournal | undefined;
  private readonly store = new SchemaStore();
  private readonly versionRule: SubjectVersions;
  /** The registration of each subject in flight: the next one waits for it. */
  private readonly running = new Map<string, Promise<unknown>>();
  /** New subjects and bytes of registrations in flight, counted against the limits before they are durable. */
  private pendingSubjects = 0;
  private pendingBytes = 0;
  private closed = false;

  private constructor(
    private readonly deps: SchemaTableDeps,
    readonly options: SchemaTableOptions,
  ) {
    this.versionRule = new SubjectVersions(deps.layout, deps.clock, deps.restored);
  }

  /** Open the journal and replay it: every version registered before is back, with its id. */
  static async open(deps: SchemaTableDeps, options: SchemaTableOptions): Promise<SchemaTable> {
    const table = new SchemaTable(deps, options);
    table.journal = await deps.openJournal({
      onRecord: (raw) => table.store.apply(parseSchemaRecord(raw)),
      snapshot: () => table.store.snapshot(),
    });
    return table;
  }

  get stats(): { subjects: number; versions: number; bytes: number } {
    return { subjects: this.store.subjects.size, versions: this.store.byId.size, bytes: this.store.bytes };
  }

  /** Every new version is at least this: 0 unless the shard was restored (src/versions.ts). */
  get versionFloor(): number {
    return this.versionRule.floor;
  }

  /**
   * Register `schema` (in `format`) under `subject`: the id and version it
   * already has if the subject holds its canonical form, else a new version
   * (above every version of the subject) with a fresh schema id, answered
   * once durable. BAD_REQUEST for an unknown format, a schema too large or
   * not of its format; NOT_OWNER for a subject of another shard; SCHEMA_LIMIT
   * past maxSubjects, maxVersions or maxShardBytes (nothing is journaled).
   */
  async register(subject: string, schema: string, format: string): Promise<Registered> {
    this.checkOpen();
    this.checkSubject(subject);
    if (!isSchemaFormat(format)) throw badFormat(format, SCHEMA_FORMATS);
    const bytes = Buffer.byteLength(schema, 'utf8');
    if (bytes > this.options.maxSchemaBytes) throw schemaTooLarge(bytes, this.options.maxSchemaBytes);
    const fingerprint = fingerprintOf(format, canonicalForm(format, schema));
    const known = this.store.subjects.get(subject)?.byFingerprint.get(fingerprint);
    if (known !== undefined) return { schemaId: known.id, version: known.version };
    const before = this.running.get(subject);
    const run = (before === undefined ? Promise.resolve() : before.catch(() => undefined)).then(() => this.add(subject, schema, format, fingerprint));
    this.running.set(subject, run);
    void run.catch(() => undefined).finally(() => {
      if (this.running.get(subject) === run) this.running.delete(subject);
    });
    return run;
  }

  /** The version with schema id `id`; SCHEMA_NOT_FOUND if this shard has none (saying so when the id predates a restore). */
  get(id: bigint): SchemaInfo {
    const e = this.store.byId.get(id);
    if (e === undefined) {
      const r = this.deps.restored;
      const lost = r !== undefined && this.deps.layout.timeOf(id) < this.deps.layout.unitAt(r.issuedBeforeMs);
      throw idNotFound(id, lost ? r.restoredAt : undefined);
    }
    return { subject: e.subject, version: e.version, schema: e.schema, format: e.format };
  }

  /** Every version of `subject`, oldest first, with its schema id; SCHEMA_NOT_FOUND for an unknown subject. */
  versions(subject: string): { versions: Array<{ version: number; schemaId: bigint }> } {
    return { versions: this.subjectOf(subject).versions.map((e) => ({ version: e.version, schemaId: e.id })) };
  }

  /** The highest version of `subject`; SCHEMA_NOT_FOUND for an unknown subject. */
  latest(subject: string): LatestSchema {
    const versions = this.subjectOf(subject).versions;
    const e = versions[versions.length - 1]!;
    return { schemaId: e.id, version: e.version, schema: e.schema, format: e.format };
  }

  /** Nothing expires in a schema registry: the kit's periodic sweep has nothing to do. */
  async sweep(): Promise<number> {
    return 0;
  }

  /** Stop taking registrations, wait for those in flight, close the journal (which finishes pending appends). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.running.values()]);
    await this.journal?.close();
  }

  /** The subject's registration proper, run after the previous one of the subject settled. */
  private async add(subject: string, schema: string, format: SchemaFormat, fingerprint: string): Promise<Registered> {
    const journal = this.checkOpen();
    // The previous registration may have been this very schema.
    const s = this.store.subjects.get(subject);
    const known = s?.byFingerprint.get(fingerprint);
    if (known !== undefined) return { schemaId: known.id, version: known.version };
    const isNew = s === undefined;
    if (isNew && this.store.subjects.size + this.pendingSubjects >= this.options.maxSubjects) throw tooManySubjects(this.options.maxSubjects);
    if ((s?.versions.length ?? 0) >= this.options.maxVersions) throw tooManyVersions(subject, this.options.maxVersions);
    const bytes = storedBytes(subject, schema);
    const used = this.store.bytes + this.pendingBytes;
    if (used + bytes > this.options.maxShardBytes) throw shardFull(used, bytes, this.options.maxShardBytes);
    const latest = this.store.latestVersion(subject);
    const version = this.versionRule.next(latest);
    if (version === undefined) throw versionsTooFarAhead(subject, latest + 1, this.versionRule.nowSec(), MAX_VERSION_LEAD_S);
    if (isNew) this.pendingSubjects++;
    this.pendingBytes += bytes;
    try {
      const id = await this.deps.ids.next();
      const rec: SchemaRecord = { t: 'r', id, s: subject, v: version, f: format, x: schema, h: fingerprint };
      await journal.append(rec);
      this.store.apply(rec);
      return { schemaId: id, version };
    } finally {
      if (isNew) this.pendingSubjects--;
      this.pendingBytes -= bytes;
    }
  }

  private subjectOf(subject: string): { versions: SchemaVersion[] } {
    this.checkSubject(subject);
    const s = this.store.subjects.get(subject);
    if (s === undefined || s.versions.length === 0) throw subjectNotFound(subject);
    return s;
  }

  private checkSubject(subject: string): void {
    const owner = shardForKey(subject);
    if (owner !== this.deps.shard) throw wrongShard(subject, owner, this.deps.shard);
  }

  private checkOpen(): SchemaJournal {
    if (this.closed || !this.journal) throw tableClosed();
    return this.journal;
  }
}
