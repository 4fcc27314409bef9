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
 *   `restoreFloor`, above all of them;
 * - idempotent retries: a request with a token (producerId, seq) is journaled
 *   with its token in the same record; a request with the token of the
 *   partition's last answer for that producer gets that same range again
 *   (waiting for its record if it is still being journaled, writing nothing
 *   new), one with an older seq is refused (OFFSETS_STALE_SEQ), so a range
 *   whose answer was lost is not left as a hole when the client retries.
 *
 * Pure domain logic over an injected clock, journal and restore facts.
 */
import { shardForKey } from '@pharaoh/protocol';
import type { JournalHooks, TableJournal } from '@pharaoh/server';
import { offsetsAhead, retryCountDiffers, staleSeq, tableClosed, tooManyPartitions, wrongShard } from './errors.js';
import { OFFSET_RATE_PER_MS, ceilingAt, restoreFloor, type OffsetRestore } from './offset-ceiling.js';
import { DEFAULT_MAX_PRODUCERS_PER_PARTITION, type OffsetTableOptions } from './options.js';
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

/** The idempotency token of a request (Kafka's producerId + sequence): seqs of one producer increase per partition. */
export interface AssignToken {
  producerId: number;
  seq: number;
}

/** A producer's last token on a partition and the range it took. */
interface Remembered {
  seq: number;
  first: number;
  count: number;
  /** Set while its record is being journaled: a retry waits for it. */
  pending?: Promise<void> | undefined;
}

/** partition → producerId → its last token, least recently used first. */
type Tokens = Map<string, Map<number, Remembered>>;

export class OffsetTable {
  private journal: SequencerJournal | undefined;
  /** The next offset of each partition: taken by a request (durable or not yet). */
  private readonly next = new Map<string, number>();
  /** The next offset of each partition as far as the journal holds it (what a compaction writes). */
  private readonly durable = new Map<string, number>();
  /** Per partition, each remembered producer's last token and range: taken (durable or not yet). */
  private readonly tokens: Tokens = new Map();
  /** The same as far as the journal holds it (what a compaction writes). */
  private readonly durableTokens: Tokens = new Map();
  private readonly maxProducers: number;
  /** Every partition resumes at least here: 0 unless the shard was restored. */
  readonly floor: number;
  private closed = false;

  private constructor(
    private readonly deps: OffsetTableDeps,
    readonly options: OffsetTableOptions,
  ) {
    this.floor = restoreFloor(deps.epochMs, deps.restored);
    this.maxProducers = options.maxProducersPerPartition ?? DEFAULT_MAX_PRODUCERS_PER_PARTITION;
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

  /** The last token (seq and range) `partition` remembers for `producerId`, durable or not yet. */
  lastToken(partition: string, producerId: number): { seq: number; first: number; count: number } | undefined {
    const r = this.tokens.get(partition)?.get(producerId);
    return r === undefined ? undefined : { seq: r.seq, first: r.first, count: r.count };
  }

  /**
   * Hand out `count` consecutive offsets of `partition`, starting where the
   * last range ended (at the restore floor on a restored shard). The range is
   * taken at once, so concurrent calls get consecutive ranges in call order;
   * it resolves once its record is durable. NOT_OWNER if the key hashes to
   * another shard; OVERLOADED at maxPartitions (a new partition) or when the
   * end would pass the time ceiling. Nothing is taken when it refuses.
   *
   * With a `token`: the same seq as the partition's last one for that
   * producer answers that range again (once durable; nothing new is taken or
   * written; a different count is BAD_REQUEST), an older seq is refused with
   * OFFSETS_STALE_SEQ, a newer one (or an unknown producer) takes a new range
   * and journals the token with it.
   */
  async assign(partition: string, count: number, token?: AssignToken): Promise<OffsetRange> {
    if (this.closed || this.journal === undefined) throw tableClosed();
    const owner = shardForKey(partition);
    if (owner !== this.deps.shard) throw wrongShard('partition', partition, owner, this.deps.shard);
    if (token !== undefined) {
      const last = this.tokens.get(partition)?.get(token.producerId);
      if (last !== undefined && token.seq <= last.seq) {
        if (token.seq < last.seq) throw staleSeq(partition, token.producerId, token.seq, last.seq);
        if (count !== last.count) throw retryCountDiffers(partition, token.producerId, token.seq, count, last.count);
        // The same request again: its answer was lost, or it is still being journaled.
        if (last.pending !== undefined) await last.pending;
        return { first: last.first, count: last.count };
      }
    }
    const known = this.next.get(partition);
    if (known === undefined && this.next.size >= this.options.maxPartitions) throw tooManyPartitions(this.options.maxPartitions);
    const first = Math.max(known ?? 0, this.floor);
    const end = first + count;
    const ceiling = ceilingAt(this.deps.epochMs, this.deps.clock.now());
    if (end > ceiling) throw offsetsAhead(partition, end, ceiling, (end - ceiling) / OFFSET_RATE_PER_MS);
    this.next.set(partition, end);
    const rec: AssignRecord = token === undefined ? { t: 'a', p: partition, e: end } : { t: 'a', p: partition, e: end, q: token.producerId, s: token.seq, n: count };
    const append = this.journal.append(rec);
    if (token === undefined) {
      await append;
    } else {
      const mine: Remembered = { seq: token.seq, first, count, pending: append };
      this.remember(this.tokens, partition, token.producerId, mine);
      try {
        await append;
      } finally {
        mine.pending = undefined;
      }
    }
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
    if (rec.q === undefined || rec.s === undefined || rec.n === undefined) return;
    const durable = this.durableTokens.get(rec.p)?.get(rec.q);
    if (durable === undefined || durable.seq <= rec.s) this.remember(this.durableTokens, rec.p, rec.q, { seq: rec.s, first: rec.e - rec.n, count: rec.n });
    // Replay (and a record finishing after a newer one of its producer was taken) must not go back to an older seq.
    const live = this.tokens.get(rec.p)?.get(rec.q);
    if (live === undefined || live.seq < rec.s) this.remember(this.tokens, rec.p, rec.q, { seq: rec.s, first: rec.e - rec.n, count: rec.n });
  }

  /** Make `r` the producer's entry, most recently used; forget the least recently used producer beyond maxProducers. */
  private remember(tokens: Tokens, partition: string, producerId: number, r: Remembered): void {
    let m = tokens.get(partition);
    if (m === undefined) tokens.set(partition, (m = new Map()));
    m.delete(producerId);
    m.set(producerId, r);
    while (m.size > this.maxProducers) m.delete(m.keys().next().value!);
  }

  /**
   * Per partition, one record of its durable end, then one per remembered
   * producer (least recently used first, so replay keeps the order) with its
   * token and range (ranges still being journaled follow the snapshot).
   */
  private snapshot(): AssignRecord[] {
    const out: AssignRecord[] = [];
    for (const [p, e] of this.durable) {
      out.push({ t: 'a', p, e });
      for (const [q, r] of this.durableTokens.get(p) ?? []) out.push({ t: 'a', p, e: r.first + r.count, q, s: r.seq, n: r.count });
    }
    return out;
  }
}
