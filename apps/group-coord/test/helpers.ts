/** Shared by the GroupTable tests (a test file must not import another: its tests would run twice). */
import { shardForKey } from '@pharaoh/protocol';
import { DEFAULT_EPOCH_MS } from '@pharaoh/snowflake';
import { FakeClock, SimDisk } from '@pharaoh/testkit';
import { secondsSince } from '@pharaoh/server';
import { GroupTable, type GroupTableDeps, type JoinArgs } from '../src/group-table.js';
import type { GroupTableOptions } from '../src/options.js';
import type { GroupRecord } from '../src/records.js';

export const T0 = Date.UTC(2026, 0, 1);
export const LAYOUT = { epochMs: DEFAULT_EPOCH_MS };
export const SHARD = shardForKey('orders-consumers');

/** Group ids that hash to `shard` (found by counting up; the hash is fixed by the protocol). */
export function groupsFor(shard: number, n: number, prefix = 'group'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 10_000_000; i++) if (shardForKey(`${prefix}-${i}`) === shard) out.push(`${prefix}-${i}`);
  return out;
}

export const OPTS: GroupTableOptions = {
  maxGroups: 10,
  maxMembers: 5,
  maxOffsetsPerCommit: 10,
  maxOffsetsPerGroup: 20,
  maxMetadataBytes: 256,
  maxAssignmentBytes: 256,
  maxOffsetMetadataBytes: 16,
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 60_000,
  maxRebalanceTimeoutMs: 60_000,
  joinWaitMs: 1_500,
  retentionMs: 60_000,
};

/** The clock's reading as a generation: whole seconds since the layout's epoch. */
export const secOf = (clock: { now(): number }): number => secondsSince(LAYOUT, clock.now());

/** Timers the test fires by hand (join/sync waits). */
export class ManualTimers {
  private readonly pending = new Set<() => void>();
  readonly timer = (_ms: number, fn: () => void): (() => void) => {
    const entry = () => fn();
    this.pending.add(entry);
    return () => this.pending.delete(entry);
  };
  get size(): number {
    return this.pending.size;
  }
  fireAll(): void {
    const all = [...this.pending];
    this.pending.clear();
    for (const f of all) f();
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export function joinArgs(group: string, member?: string, protocols = [{ name: 'custom', metadata: bytes('sub') }]): JoinArgs {
  return { group, member, protocols, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5_000 };
}

export function world(opts: Partial<GroupTableOptions> = {}, extra: Partial<GroupTableDeps> = {}) {
  const clock = new FakeClock(T0);
  const disk = new SimDisk();
  const timers = new ManualTimers();
  let n = 0;
  const open = (compactAtBytes?: number) =>
    GroupTable.open(
      {
        shard: SHARD,
        clock,
        layout: LAYOUT,
        timer: timers.timer,
        newMemberId: () => `m${++n}`,
        openJournal: (hooks) => disk.open<GroupRecord>(hooks, compactAtBytes),
        ...extra,
      },
      { ...OPTS, ...opts },
    );
  return { clock, disk, timers, open };
}

/** A tick: let appends and their continuations run. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};
