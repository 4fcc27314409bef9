/**
 * What the clients were told: every acknowledged ID (per shard), every
 * acknowledged or observed transaction decision, every acknowledged session
 * epoch. The checks after a restart compare the server's answers with these.
 */

/** Every kind of broken promise the harness can see. */
export const VIOLATION_KINDS = {
  duplicate: 'an ID was handed out twice',
  order: 'a fresh ID was not above every ID acknowledged before on its shard (across a restart: lost durable bound)',
  'lost-commit': 'a transaction acknowledged or observed COMMITTED reads otherwise',
  'lost-abort': 'a transaction acknowledged or observed ABORTED reads otherwise',
  'commit-ts': 'a committed transaction answers another commitTs than acknowledged',
  'phantom-commit': 'a transaction nobody asked to commit reads COMMITTED',
  'tx-state': 'a transaction begun before a restart reads ACTIVE or UNKNOWN after it',
  epoch: "a producer's new epoch is not above every acknowledged one",
  'session-id': 'a named producer got another sessionId than acknowledged before',
  fence: 'an epoch below an acknowledged (or observed) newer one validates OK again',
  'epoch-lost': 'an acknowledged epoch or session validates UNKNOWN or EXPIRED',
  'phantom-epoch': "a producer's newest acknowledged epoch is FENCED though no newer open was ever sent",
  // group-coord, schema-registry, sequencer: the crash test's plug-in checks (tools/cli/src/chaos/services), under their own names.
  'group-generation': "a group's generation is not above one answered before (after a power cut: not strictly above every acknowledged one)",
  'group-fenced': 'a commit with a generation older than one answered before was accepted (a stale generation not fenced, or the newest one lost)',
  'group-commit-lost': "a partition's committed offset reads back below the highest acknowledged commit (or does not read back)",
  'schema-same': 'one (subject, schema) answered two different (id, version) pairs',
  'schema-id': 'one schema id names two schemas, or reads back as another schema',
  'schema-version': "a subject's version names two schemas, or a new schema's version is not above one acknowledged before",
  'schema-lost': 'an acknowledged registration does not read back by id, or is missing from its subject\'s versions',
  'offsets-reissued': "a partition's range starts below the end of a range acknowledged before",
  'offsets-gap': "a partition's range leaves a hole no set of the calls left without an answer could have taken (dense)",
  'cdc-table-order': "a table's cdc id is not above the table's ids acknowledged before",
  invariant: 'another check of a crash-test plug-in failed',
  restart: 'the server refused to start on the recovered file system',
  crash: 'the server exited by itself',
  unavailable: 'a check call failed (shard unavailable, timeout) after a restart',
} as const;

export type ViolationKind = keyof typeof VIOLATION_KINDS;

export type Phase = 'load' | 'after-kill' | 'after-cut';

export interface Violation {
  kind: ViolationKind;
  service: string;
  /** 1-based number of the service's cut in progress. */
  cut: number;
  phase: Phase;
  message: string;
}

/** What was checked (after restarts, unless named otherwise). */
export interface Counters {
  /** Acknowledged IDs entered into the uniqueness / per-shard order book (each ID of a range counts). */
  ids: number;
  /** Fresh IDs taken after a restart and checked above every ID acknowledged before it on their shard. */
  crossIds: number;
  /** Transactions begun before a restart whose state was read back after it (acknowledged and observed decisions, undecided ones). */
  decisions: number;
  /** Session epochs validated after a restart, plus new opens checked above every acknowledged epoch; group generations (stale ones probed fenced, new ones checked above the acknowledged) likewise. */
  epochs: number;
  /** Checks made during load (old epochs validated FENCED, sequential opens increasing). */
  liveChecks: number;
  /** Other acknowledged facts read back or asked again after a restart: committed offsets, schemas (by id and in their subject's versions), the next offset or cdc id of every partition and table. */
  facts: number;
}

export function zeroCounters(): Counters {
  return { ids: 0, crossIds: 0, decisions: 0, epochs: 0, liveChecks: 0, facts: 0 };
}

export function addCounters(a: Counters, b: Counters): Counters {
  return { ids: a.ids + b.ids, crossIds: a.crossIds + b.crossIds, decisions: a.decisions + b.decisions, epochs: a.epochs + b.epochs, liveChecks: a.liveChecks + b.liveChecks, facts: a.facts + b.facts };
}

export function subCounters(a: Counters, b: Counters): Counters {
  return { ids: a.ids - b.ids, crossIds: a.crossIds - b.crossIds, decisions: a.decisions - b.decisions, epochs: a.epochs - b.epochs, liveChecks: a.liveChecks - b.liveChecks, facts: a.facts - b.facts };
}

/** Where violations go: the lane knows the service, the cut and the phase. */
export type Report = (kind: ViolationKind, message: string) => void;

interface Interval {
  lo: bigint;
  hi: bigint;
}

/** A set of bigints kept as sorted, disjoint, non-adjacent intervals; adding tells whether any value was already in. */
export class IntervalSet {
  private readonly items: Interval[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The largest value, or undefined when empty. */
  max(): bigint | undefined {
    return this.items[this.items.length - 1]?.hi;
  }

  /** The first stored interval that overlaps [lo, hi], if any. */
  overlap(lo: bigint, hi: bigint): Interval | undefined {
    const i = this.firstEndingAtOrAfter(lo);
    const it = this.items[i];
    return it !== undefined && it.lo <= hi ? it : undefined;
  }

  /** Add [lo, hi]; false if some value of it was already in the set (the set then holds the union). */
  add(lo: bigint, hi: bigint): boolean {
    const i = this.firstEndingAtOrAfter(lo);
    const fresh = !(i < this.items.length && this.items[i]!.lo <= hi);
    let start = i;
    let newLo = lo;
    let newHi = hi;
    if (start > 0 && this.items[start - 1]!.hi + 1n === lo) {
      start--;
      newLo = this.items[start]!.lo;
    }
    let end = i;
    while (end < this.items.length && this.items[end]!.lo <= newHi + 1n) {
      const it = this.items[end]!;
      if (it.lo < newLo) newLo = it.lo;
      if (it.hi > newHi) newHi = it.hi;
      end++;
    }
    this.items.splice(start, end - start, { lo: newLo, hi: newHi });
    return fresh;
  }

  private firstEndingAtOrAfter(v: bigint): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.hi < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The IDs of one service: for uniqueness, every ID ever acknowledged — ranges
 * (TSO) as intervals, single IDs (txcoord, session-mgr) with what they belong
 * to, since some are legitimately answered more than once (a named producer's
 * sessionId, the commitTs of a retried commit) — and per shard the largest
 * acknowledged ID: the floor every fresh ID must be above.
 */
export class IdBook {
  private readonly intervals = new Map<number, IntervalSet>();
  private readonly owners = new Map<bigint, string>();
  private readonly maxByShard = new Map<number, bigint>();

  constructor(private readonly counters: Counters) {}

  /** The largest ID acknowledged on `shard` so far (-1 if none): take it when a call is sent. */
  floor(shard: number): bigint {
    return this.maxByShard.get(shard) ?? -1n;
  }

  /** Every shard's floor, for calls whose shard is known only from the answer. */
  floors(): Map<number, bigint> {
    return new Map(this.maxByShard);
  }

  private raise(shard: number, v: bigint): void {
    if (v > (this.maxByShard.get(shard) ?? -1n)) this.maxByShard.set(shard, v);
  }

  /** Fresh IDs first … first+count-1 on `shard`, answered to a call sent when the shard's floor was `floor`. */
  addRange(shard: number, first: bigint, count: number, floor: bigint | undefined, report: Report, what: string): void {
    const last = first + BigInt(count) - 1n;
    if (floor !== undefined && first <= floor) report('order', `${what}: shard ${shard} answered ${first} (…${count} IDs), not above ${floor} acknowledged before the call`);
    let set = this.intervals.get(shard);
    if (!set) this.intervals.set(shard, (set = new IntervalSet()));
    const seen = set.overlap(first, last);
    if (seen) report('duplicate', `${what}: shard ${shard} answered ${first}…${last}, which overlaps IDs acknowledged before${seen ? ` (${seen.lo}…${seen.hi})` : ''}`);
    set.add(first, last);
    this.raise(shard, last);
    this.counters.ids += count;
  }

  /**
   * One ID that belongs to `owner` (e.g. `commitTs of 123`): the same owner may
   * be answered it again; anyone else getting it is a duplicate. `floor`
   * undefined: not a fresh ID (a re-acknowledgement), so no order check.
   */
  addOwned(shard: number, id: bigint, owner: string, floor: bigint | undefined, report: Report, what: string): void {
    const prev = this.owners.get(id);
    if (prev !== undefined && prev !== owner) report('duplicate', `${what}: ${id} was answered as ${owner} but was acknowledged before as ${prev}`);
    if (floor !== undefined && id <= floor) report('order', `${what}: shard ${shard} answered ${id} (${owner}), not above ${floor} acknowledged before the call`);
    if (prev === undefined) {
      this.owners.set(id, owner);
      this.counters.ids++;
    }
    this.raise(shard, id);
  }
}

export type Decision = 'COMMITTED' | 'ABORTED';

export interface TxRec {
  txId: bigint;
  shard: number;
  /** What the harness asked for: nothing (left undecided), commit or abort. */
  intent: 'none' | 'commit' | 'abort';
  /** The decision as the harness knows it, and how: acknowledged by the call itself, or read back (status) later. */
  known?: Decision;
  how?: 'ack' | 'observed';
  commitTs?: bigint;
  /** Read back after at least one restart. */
  checked: boolean;
  /** A violation was reported about it: not checked again (one report per loss). */
  broken?: boolean;
}

export interface ProducerRec {
  name: string;
  shard: number;
  sessionId?: bigint;
  /** Every acknowledged epoch, in the order acknowledged. */
  epochs: number[];
  /** Read back after the latest restart: epochs[0 … checkedUpTo-1]. */
  checkedUpTo: number;
  maxAcked: number;
  /** Epochs seen FENCED by a validate: must stay FENCED. */
  fenced: Set<number>;
  /** An open was sent after the newest acknowledgement and its answer never came: a newer epoch may exist. */
  unsure: boolean;
  /** An open or validate of this producer is in flight (one at a time). */
  busy: boolean;
}

export interface AnonSession {
  sessionId: bigint;
  epoch: number;
  checked: boolean;
  broken?: boolean;
}
