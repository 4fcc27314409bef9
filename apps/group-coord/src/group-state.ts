/**
 * The durable state of one group-coord shard, as rebuilt from journal
 * records: groups, their current generation, members, assignment and
 * committed offsets. Only `apply` changes what is durable; the rebalance
 * phase, deadlines and members' protocols live in memory (the table's), so
 * replay and live operation cannot drift apart.
 */
import type { AssignmentEntry, GenerationRecord, GroupRecord, OffsetEntry } from './records.js';

/**
 * EMPTY: no members. PREPARING: a rebalance is collecting joins (heartbeats
 * answer GROUP_REBALANCE_IN_PROGRESS). AWAITING_SYNC: a generation formed,
 * the leader's assignment is awaited. STABLE: every member has its assignment.
 */
export type GroupPhase = 'EMPTY' | 'PREPARING' | 'AWAITING_SYNC' | 'STABLE';

export interface Protocol {
  name: string;
  metadata: Uint8Array;
}

export interface Member {
  readonly id: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** What it offered at its last join (in memory only: unknown after a restart until it joins again). */
  protocols: Protocol[] | undefined;
  /** Wall-clock ms after which a member without heartbeat is removed. Not durable: a restart grants a fresh timeout. */
  deadline: number;
  /** Joined the rebalance in progress (PREPARING). */
  joined: boolean;
  /** Its assignment in the current generation, once known (kept through a rebalance: sticky reads it). */
  assignment: Uint8Array | undefined;
  /** A member of the durable generation (else it is joining the rebalance in progress, known only in memory). */
  durable: boolean;
}

export interface CommittedOffset {
  offset: number;
  metadata: string;
}

/**
 * One consumer group. Invariants: `generation` only increases (each comes
 * from TimeEpochs.next(reserved), journaled before anyone sees it), and
 * `reserved` ≥ `generation` is the highest one handed to a record in flight;
 * `members` of a durable generation are exactly its record's, minus durable
 * leaves, plus members joining the rebalance in progress.
 */
export interface Group {
  readonly id: string;
  /** Current durable generation; 0 = none yet. */
  generation: number;
  reserved: number;
  protocol: string;
  leader: string;
  members: Map<string, Member>;
  phase: GroupPhase;
  /** A member left since the generation formed: the others must rebalance. */
  departed: boolean;
  /** The current generation's assignment is durable. */
  assigned: boolean;
  /** PREPARING: when the rebalance completes without the members that did not join. */
  rebalanceDeadline: number;
  /** AWAITING_SYNC: when the group gives up on the leader and rebalances. */
  syncDeadline: number;
  /** topic → partition → committed offset. */
  offsets: Map<string, Map<number, CommittedOffset>>;
  offsetCount: number;
  /** Last time it became empty or had offsets committed (ms): retention counts from here. */
  touchedAt: number;
  /** A membership or generation record of this group being journaled: every op waits for it, then looks again. */
  changing: Promise<void> | undefined;
}

/** Offsets per record in a snapshot: keeps each record well under the journal's frame size. */
const SNAPSHOT_OFFSETS_PER_RECORD = 1_000;

export class GroupStore {
  readonly groups = new Map<string, Group>();

  constructor(private readonly clock: { now(): number }) {}

  /** A group known only in memory until its first generation is durable. */
  create(id: string): Group {
    const g: Group = {
      id,
      generation: 0,
      reserved: 0,
      protocol: '',
      leader: '',
      members: new Map(),
      phase: 'EMPTY',
      departed: false,
      assigned: false,
      rebalanceDeadline: 0,
      syncDeadline: 0,
      offsets: new Map(),
      offsetCount: 0,
      touchedAt: this.clock.now(),
      changing: undefined,
    };
    this.groups.set(id, g);
    return g;
  }

  get memberCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.members.size;
    return n;
  }

  /** Apply one durable record. */
  apply(rec: GroupRecord): void {
    const g = this.groups.get(rec.g) ?? (rec.t === 'd' ? undefined : this.create(rec.g));
    if (g === undefined) return;
    switch (rec.t) {
      case 'g':
        this.applyGeneration(g, rec);
        return;
      case 'a':
        if (rec.gen === g.generation) this.assign(g, rec.a);
        return;
      case 'l':
        if (g.members.delete(rec.m)) g.departed = true;
        if (g.members.size === 0) g.touchedAt = rec.at;
        return;
      case 'o':
        this.commit(g, rec.o);
        return;
      case 'd':
        this.groups.delete(rec.g);
        return;
    }
  }

  private applyGeneration(g: Group, rec: GenerationRecord): void {
    if (rec.gen <= g.generation) return;
    const now = this.clock.now();
    const old = g.members;
    g.generation = rec.gen;
    g.reserved = Math.max(g.reserved, rec.gen);
    g.protocol = rec.p;
    g.leader = rec.l;
    g.members = new Map();
    let rebalanceMs = 0;
    for (const [id, sto, rto] of rec.m) {
      g.members.set(id, { id, sessionTimeoutMs: sto, rebalanceTimeoutMs: rto, protocols: old.get(id)?.protocols, deadline: now + sto, joined: false, assignment: undefined, durable: true });
      rebalanceMs = Math.max(rebalanceMs, rto);
    }
    g.departed = rec.r === 1;
    g.assigned = false;
    g.phase = rec.m.length === 0 ? 'EMPTY' : 'AWAITING_SYNC';
    g.syncDeadline = now + rebalanceMs;
    if (rec.m.length === 0) g.touchedAt = now;
    if (rec.a !== undefined) this.assign(g, rec.a);
  }

  private assign(g: Group, entries: AssignmentEntry[]): void {
    for (const [id, bytes] of entries) {
      const m = g.members.get(id);
      if (m) m.assignment = bytes;
    }
    g.assigned = true;
    if (g.phase === 'AWAITING_SYNC') g.phase = 'STABLE';
  }

  private commit(g: Group, entries: OffsetEntry[]): void {
    for (const [topic, partition, offset, metadata] of entries) {
      let t = g.offsets.get(topic);
      if (!t) g.offsets.set(topic, (t = new Map()));
      if (!t.has(partition)) g.offsetCount++;
      t.set(partition, { offset, metadata });
    }
    g.touchedAt = this.clock.now();
  }

  /** New (topic, partition) pairs `entries` would add to `g`'s offsets. */
  newPartitions(g: Group, entries: OffsetEntry[]): number {
    const seen = new Set<string>();
    for (const [topic, partition] of entries) if (!g.offsets.get(topic)?.has(partition)) seen.add(`${topic}\u0000${partition}`);
    return seen.size;
  }

  /**
   * The state as records, per group: its generation (members, leader,
   * protocol, assignment, a pending rebalance as `r`), then its offsets.
   * Groups that never formed a generation and have no offsets are left out.
   */
  snapshot(): GroupRecord[] {
    const out: GroupRecord[] = [];
    for (const g of this.groups.values()) {
      if (g.generation > 0) {
        const durable = [...g.members.values()].filter((m) => m.durable);
        const rec: GenerationRecord = {
          t: 'g',
          g: g.id,
          gen: g.generation,
          p: g.protocol,
          l: g.leader,
          m: durable.map((m) => [m.id, m.sessionTimeoutMs, m.rebalanceTimeoutMs]),
        };
        if (g.assigned) rec.a = durable.map((m) => [m.id, m.assignment ?? new Uint8Array(0)]);
        if (g.departed) rec.r = 1;
        out.push(rec);
      }
      let batch: OffsetEntry[] = [];
      for (const [topic, parts] of g.offsets) {
        for (const [partition, o] of parts) {
          batch.push([topic, partition, o.offset, o.metadata]);
          if (batch.length === SNAPSHOT_OFFSETS_PER_RECORD) {
            out.push({ t: 'o', g: g.id, o: batch });
            batch = [];
          }
        }
      }
      if (batch.length > 0) out.push({ t: 'o', g: g.id, o: batch });
    }
    return out;
  }
}
