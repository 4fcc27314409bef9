/**
 * Who owns which shard of one service, and which shards are healthy enough for
 * fresh-ID calls. Ownership is recomputed from every endpoint's claim whenever
 * a claim changes (rare: hellos, NOT_OWNER answers), so routing a call is an
 * array lookup.
 */
import { SHARD_COUNT, expandShardRanges, toShardRanges, type ShardRanges } from '@pharaoh/protocol';
import type { ServiceSpec } from '@pharaoh/registry';
import type { Layout } from '@pharaoh/snowflake';
import type { Connection } from './connection.js';
import { FleetConflictError } from './errors.js';
import type { Clock, Policy } from './options.js';

/** A conflict found while recomputing: two live endpoints both say they host `shard`. */
export interface Conflict {
  shard: number;
  kept: Connection;
  refused: Connection;
}

export interface OwnershipChange {
  conflicts: Conflict[];
  /** Shard ids whose owner changed. */
  moved: number[];
}

export class ShardMap {
  /** The registry's layout until a hello announces the one the service really uses. */
  layout: Layout;
  private owners: Array<Connection | undefined> = new Array(SHARD_COUNT).fill(undefined);
  private readonly quarantinedUntil = new Float64Array(SHARD_COUNT);
  private healthy: number[] | undefined;
  private healthyByConn = new Map<Connection, number[]>();
  /** The cached healthy list is stale from this time on (a quarantine ends). */
  private healthyValidUntil = Infinity;
  private rr = 0;
  /** The sticky policy's shard for keyless calls, while it stays healthy. */
  private home: number | undefined;

  constructor(
    readonly spec: ServiceSpec,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {
    this.layout = spec.layout;
  }

  get service(): string {
    return this.spec.name;
  }

  ownerOf(shard: number): Connection | undefined {
    return this.owners[shard];
  }

  /** Shards owned by `conn` right now (after conflicts were resolved). */
  shardsOf(conn: Connection): ShardRanges {
    const ids: number[] = [];
    for (let s = 0; s < SHARD_COUNT; s++) if (this.owners[s] === conn) ids.push(s);
    return toShardRanges(ids);
  }

  /**
   * Recompute owners from the claims of `conns` (those of this service).
   * Precedence: a live endpoint's hello beats a disconnected endpoint's last
   * claim, which beats a fleet-file claim; between two live endpoints the older
   * claim is kept and the conflict reported. With `strict`, a conflict between
   * live endpoints throws FleetConflictError instead (used by `connect()`).
   */
  recompute(conns: readonly Connection[], strict: boolean): OwnershipChange {
    const ranked = conns
      .filter((c) => c.claim !== undefined && c.service === this.service)
      .sort((a, b) => rank(a) - rank(b) || a.claimSince - b.claimSince);
    const next: Array<Connection | undefined> = new Array(SHARD_COUNT).fill(undefined);
    const conflicts: Conflict[] = [];
    for (const conn of ranked) {
      for (const s of expandShardRanges(conn.claim!)) {
        const cur = next[s];
        if (cur === undefined) next[s] = conn;
        else if (rank(cur) === 0 && rank(conn) === 0) {
          if (strict) throw new FleetConflictError(this.service, s, [cur.url, conn.url]);
          conflicts.push({ shard: s, kept: cur, refused: conn });
        }
      }
    }
    const moved: number[] = [];
    for (let s = 0; s < SHARD_COUNT; s++) if (next[s] !== this.owners[s]) moved.push(s);
    this.owners = next;
    this.healthy = undefined;
    return { conflicts, moved };
  }

  /** Connection states changed: the healthy set must be rebuilt. */
  invalidate(): void {
    this.healthy = undefined;
  }

  /** Skip `shard` for fresh-ID calls for `ms` (it answered SHARD_UNAVAILABLE or is shutting down). */
  quarantine(shard: number, ms: number): void {
    this.quarantinedUntil[shard] = this.clock.now() + ms;
    this.healthy = undefined;
  }

  /** Shards a fresh-ID call may go to: owner connected, not quarantined. */
  healthyShards(): number[] {
    this.refreshHealthy();
    return this.healthy!;
  }

  private refreshHealthy(): void {
    if (this.healthy !== undefined && this.clock.now() < this.healthyValidUntil) return;
    const now = this.clock.now();
    const out: number[] = [];
    const byConn = new Map<Connection, number[]>();
    let nextExpiry = Infinity;
    for (let s = 0; s < SHARD_COUNT; s++) {
      const owner = this.owners[s];
      if (owner?.isOpen !== true) continue;
      const q = this.quarantinedUntil[s]!;
      if (q > now) {
        nextExpiry = Math.min(nextExpiry, q);
        continue;
      }
      out.push(s);
      const list = byConn.get(owner);
      if (list === undefined) byConn.set(owner, [s]);
      else list.push(s);
    }
    // Cached until something changes; a quarantine ending counts as a change.
    this.healthy = out;
    this.healthyByConn = byConn;
    this.healthyValidUntil = nextExpiry;
  }

  /**
   * Pick a shard for a fresh-ID call by `policy`, or undefined if none is
   * healthy. Sticky keeps one random healthy shard until it is no longer
   * healthy; round-robin rotates over healthy shards; least-in-flight picks the
   * connection with the fewest requests in flight, then rotates among its shards.
   */
  pick(policy: Policy): number | undefined {
    this.refreshHealthy();
    const shards = this.healthy!;
    if (shards.length === 0) return undefined;
    if (policy === 'sticky') {
      const home = this.home;
      if (home !== undefined && this.owners[home]?.isOpen === true && this.quarantinedUntil[home]! <= this.clock.now()) {
        return home;
      }
      this.home = shards[Math.min(shards.length - 1, Math.floor(this.random() * shards.length))];
      return this.home;
    }
    this.rr = (this.rr + 1) % 0x7fff_ffff;
    if (policy === 'round-robin') return shards[this.rr % shards.length];
    let best: Connection | undefined;
    let bestShards: number[] = shards;
    for (const [conn, list] of this.healthyByConn) {
      if (best === undefined || conn.inFlight < best.inFlight) {
        best = conn;
        bestShards = list;
      }
    }
    return bestShards[this.rr % bestShards.length];
  }
}

/** 0: live hello (or NOT_OWNER answer from a live endpoint); 1: stale claim of a disconnected endpoint; 2: fleet file only. */
function rank(c: Connection): number {
  if (c.claimSource === 'file') return 2;
  return c.isOpen ? 0 : 1;
}
