/**
 * The offset table of one sequencer shard: per-partition dense offsets,
 * Kafka-like (offsets.assign {partition, count} → {first, count}).
 *
 * Invariants (per partition):
 * - dense: the ranges handed out are consecutive, `first` of one is the end
 *   of the one before; the only holes are ranges taken by a request whose
 *   answer never arrived (a crash after the journal sync, a lost connection),
 *   which are never handed out again;
 * - durable before acknowledged: a range is answered only once its record
 *   (the new end) is in the journal (group commit), so after any crash every
 *   acknowledged range lies below where the partition resumes: nothing
 *   acknowledged is handed out twice, nothing acknowledged is lost;
 * - restore-safe: every end stays at or below `ceilingAt(now)`
 *   (src/offset-ceiling.ts), and a restored shard resumes every partition at
 *   `restoreFloor`, above all of them.
 *
 * Pure domain logic over an injected clock, journal and restore facts.
 */
import { shardForKey } from '@pharaoh/protocol';
import type { JournalHooks, TableJournal } from '@pharaoh/server';
import { offsetsAhead, tableClosed, tooManyPartitions, wrongShard } from './errors.js';
import { OFFSET_RATE_PER_MS, ceilingAt, restoreFloor, type OffsetRestore } from './offset-ceiling.js';
import type { OffsetTableOptions } from './options.js';
import { parseSequencerRecord, type AssignRecord, type SequencerRecord } from './records.js';

export type SequencerJournal = TableJournal<SequencerRecord>;
export type SequencerJournalHooks = JournalHooks<SequencerRecord>;

export interface OffsetTableDeps {
  /** The shard this table serves: partition keys must hash to it. */
  shard: number;
  clock: { now(): number };
  /** The CDC layout's epoch (ms since 1970): the offset ceiling counts from it. */
  epochMs: number;
  /** Set when the shard was restored from a backup (the server's RestoreMark): every partition resumes at the restore floor. */
  restored?: OffsetRestore | undefined;
  openJournal(hooks: SequencerJournalHooks): Promise<SequencerJournal>;
}

export interface OffsetRange {
  first: number;
  count: number;
}

export class OffsetTable {
  private journal: SequencerJournal | undefined;
  /** The next offset of each partition: taken by a request (durable or not yet). */
  private readonly next = new Map<string, number>();
  /** The next offset of each partition as far as the journal holds it (what a compaction writes). */
  private readonly durable = new Map<string, number>();
  /** Every partition resumes at least here: 0 unless the shard was restored. */
  readonly floor: number;
  private closed = false;

  private constructor(
    private readonly deps: OffsetTableDeps,
    readonly options: OffsetTableOptions,
  ) {
    this.floor = restoreFloor(deps.epochMs, deps.restored);
  }

  /** Open the journal and replay it: each partition resumes at the largest end journaled. */
  static async open(deps: OffsetTableDeps, options: OffsetTableOptions): Promise<OffsetTable> {
    const table = new OffsetTable(deps, options);
    table.journal = await deps.openJournal({
      onRecord: (raw) => table.applyDurable(parseSequencerRecord(raw)),
      snapshot: () => table.snapshot(),
    });
    return table;
  }

  /** Partitions this shard keeps. */
  get partitions(): number {
    return this.next.size;
  }

  /** The next offset `partition` would get (its floor applied), or undefined if the shard does not know it. */
  peek(partition: string): number | undefined {
    const n = this.next.get(partition);
    return n === undefined ? undefined : Math.max(n, this.floor);
  }

  /**
   * Hand out `count` consecutive offsets of `partition`, starting where the
   * last range ended (at the restore floor on a restored shard). The range is
   * taken at once, so concurrent calls get consecutive ranges in call order;
   * it resolves once its record is durable. NOT_OWNER if the key hashes to
   * another shard; OVERLOADED at maxPartitions (a new partition) or when the
   * end would pass the time ceiling. Nothing is taken when it refuses.
   */
  async assign(partition: string, count: number): Promise<OffsetRange> {
    if (this.closed || this.journal === undefined) throw tableClosed();
    const owner = shardForKey(partition);
    if (owner !== this.deps.shard) throw wrongShard('partition', partition, owner, this.deps.shard);
    const known = this.next.get(partition);
    if (known === undefined && this.next.size >= this.options.maxPartitions) throw tooManyPartitions(this.options.maxPartitions);
    const first = Math.max(known ?? 0, this.floor);
    const end = first + count;
    const ceiling = ceilingAt(this.deps.epochMs, this.deps.clock.now());
    if (end > ceiling) throw offsetsAhead(partition, end, ceiling, (end - ceiling) / OFFSET_RATE_PER_MS);
    this.next.set(partition, end);
    const rec: AssignRecord = { t: 'a', p: partition, e: end };
    await this.journal.append(rec);
    this.applyDurable(rec);
    return { first, count };
  }

  /** Nothing expires: partitions are kept for good (see DEFAULT_MAX_PARTITIONS). */
  sweep(): Promise<void> {
    return Promise.resolve();
  }

  /** Refuse new calls; wait for journaled ones and close the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  private applyDurable(rec: AssignRecord): void {
    if ((this.durable.get(rec.p) ?? -1) < rec.e) this.durable.set(rec.p, rec.e);
    if ((this.next.get(rec.p) ?? -1) < rec.e) this.next.set(rec.p, rec.e);
  }

  /** One record per partition: its durable end (ranges still being journaled follow the snapshot). */
  private snapshot(): AssignRecord[] {
    const out: AssignRecord[] = [];
    for (const [p, e] of this.durable) out.push({ t: 'a', p, e });
    return out;
  }
}
