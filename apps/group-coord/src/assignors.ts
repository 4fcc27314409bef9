/**
 * The coordinator's built-in assignors, chosen by protocol name: a group
 * whose chosen protocol is `range`, `roundrobin` or `sticky` gets its
 * assignment from the coordinator (no leader sync needed).
 *
 * Formats (UTF-8 JSON, so any client can write and read them):
 * - a member's metadata for a built-in protocol: `{"topics":{"<topic>":<partition count>,...}}`
 *   (the topics it subscribes to and how many partitions each has; when
 *   members disagree on a count the largest is used);
 * - its assignment: `{"<topic>":[<partition>,...],...}`, topics and
 *   partitions in ascending order, `{}` when it gets nothing.
 *
 * Pure functions of the members (sorted by memberId, so every coordinator
 * computes the same answer) and, for sticky, the previous assignment.
 */
import { badRequest } from './errors.js';

export const BUILTIN_PROTOCOLS = ['range', 'roundrobin', 'sticky'] as const;
export type BuiltinProtocol = (typeof BUILTIN_PROTOCOLS)[number];

/** Partitions of one subscription, in all: bounds one rebalance's work and a built-in assignment's size (about 6 bytes a partition of JSON). */
export const MAX_SUBSCRIBED_PARTITIONS = 10_000;

export function isBuiltin(name: string): name is BuiltinProtocol {
  return (BUILTIN_PROTOCOLS as readonly string[]).includes(name);
}

/** topic → partition count. */
export type Subscription = Map<string, number>;
/** topic → partitions. */
export type Assignment = Map<string, number[]>;

/** Parse a member's metadata for a built-in protocol; BAD_REQUEST naming the protocol when it is not the documented JSON. */
export function parseSubscription(protocol: string, metadata: Uint8Array): Subscription {
  const field = `protocols[${protocol}].metadata`;
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(metadata));
  } catch {
    throw badRequest(field, `the built-in "${protocol}" assignor needs UTF-8 JSON {"topics":{"<topic>":<partitions>}}`);
  }
  const topics = (doc as { topics?: unknown } | null)?.topics;
  if (typeof topics !== 'object' || topics === null || Array.isArray(topics)) throw badRequest(field, 'expected {"topics":{"<topic>":<partitions>}}');
  const sub: Subscription = new Map();
  let total = 0;
  for (const [topic, n] of Object.entries(topics)) {
    if (topic.length === 0 || typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw badRequest(field, `topic ${JSON.stringify(topic)} needs a partition count ≥ 1, got ${JSON.stringify(n)}`);
    }
    total += n;
    if (total > MAX_SUBSCRIBED_PARTITIONS) throw badRequest(field, `more than ${MAX_SUBSCRIBED_PARTITIONS} partitions subscribed`);
    sub.set(topic, n);
  }
  return sub;
}

export function encodeAssignment(a: Assignment): Uint8Array {
  const out: Record<string, number[]> = {};
  for (const topic of [...a.keys()].sort()) out[topic] = [...a.get(topic)!].sort((x, y) => x - y);
  return new TextEncoder().encode(JSON.stringify(out));
}

/** A previous built-in assignment back to a map (anything unreadable counts as nothing owned). */
export function decodeAssignment(bytes: Uint8Array | undefined): Assignment {
  const a: Assignment = new Map();
  if (bytes === undefined) return a;
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    for (const [topic, ps] of Object.entries(doc)) if (Array.isArray(ps)) a.set(topic, ps.filter((p): p is number => Number.isInteger(p)));
  } catch {
    // a leader-made assignment from an earlier custom protocol: nothing to stick to
  }
  return a;
}

interface Input {
  /** memberId → subscription, for every member. */
  members: Map<string, Subscription>;
  /** memberId → previous assignment (sticky only). */
  previous?: Map<string, Assignment>;
}

/** All (topic, partitions) of the group: the largest count any member declared. */
function topicsOf(members: Map<string, Subscription>): Map<string, number> {
  const all = new Map<string, number>();
  for (const sub of members.values()) for (const [t, n] of sub) all.set(t, Math.max(all.get(t) ?? 0, n));
  return all;
}

function give(out: Map<string, Assignment>, member: string, topic: string, p: number): void {
  const a = out.get(member)!;
  const ps = a.get(topic);
  if (ps) ps.push(p);
  else a.set(topic, [p]);
}

function empty(members: Iterable<string>): Map<string, Assignment> {
  return new Map([...members].map((m) => [m, new Map()]));
}

/** Kafka's range: per topic, its subscribers (by memberId) get contiguous ranges, the first `n % m` one extra. */
export function rangeAssign({ members }: Input): Map<string, Assignment> {
  const ids = [...members.keys()].sort();
  const out = empty(ids);
  for (const [topic, n] of [...topicsOf(members)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const subs = ids.filter((m) => members.get(m)!.has(topic));
    const base = Math.floor(n / subs.length);
    const extra = n % subs.length;
    let p = 0;
    subs.forEach((m, i) => {
      for (let k = 0; k < base + (i < extra ? 1 : 0); k++) give(out, m, topic, p++);
    });
  }
  return out;
}

/** Kafka's roundrobin: every (topic, partition) in order, dealt to the next member (by memberId) subscribed to its topic. */
export function roundRobinAssign({ members }: Input): Map<string, Assignment> {
  const ids = [...members.keys()].sort();
  const out = empty(ids);
  let next = 0;
  for (const [topic, n] of [...topicsOf(members)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (let p = 0; p < n; p++) {
      for (let tries = 0; tries < ids.length; tries++) {
        const m = ids[next++ % ids.length]!;
        if (members.get(m)!.has(topic)) {
          give(out, m, topic, p);
          break;
        }
      }
    }
  }
  return out;
}

/**
 * Sticky: each member keeps what it owned before (still subscribed, still
 * existing, up to its fair share ⌈P/M⌉), the rest goes to the least-loaded
 * subscriber (ties by memberId). Balanced to within one partition when every
 * member subscribes to the same topics.
 */
export function stickyAssign({ members, previous }: Input): Map<string, Assignment> {
  const ids = [...members.keys()].sort();
  const out = empty(ids);
  const load = new Map(ids.map((m) => [m, 0]));
  const topics = topicsOf(members);
  let total = 0;
  for (const n of topics.values()) total += n;
  const cap = Math.ceil(total / Math.max(1, ids.length));
  const taken = new Set<string>();
  for (const m of ids) {
    for (const [topic, ps] of previous?.get(m) ?? []) {
      const n = topics.get(topic);
      if (n === undefined || !members.get(m)!.has(topic)) continue;
      for (const p of ps) {
        const key = `${topic}\u0000${p}`;
        if (p >= n || taken.has(key) || load.get(m)! >= cap) continue;
        taken.add(key);
        give(out, m, topic, p);
        load.set(m, load.get(m)! + 1);
      }
    }
  }
  for (const [topic, n] of [...topics].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const subs = ids.filter((m) => members.get(m)!.has(topic));
    for (let p = 0; p < n; p++) {
      if (taken.has(`${topic}\u0000${p}`)) continue;
      let best = subs[0]!;
      for (const m of subs) if (load.get(m)! < load.get(best)!) best = m;
      give(out, best, topic, p);
      load.set(best, load.get(best)! + 1);
    }
  }
  return out;
}

/** The assignment of a built-in protocol. */
export function assign(protocol: BuiltinProtocol, input: Input): Map<string, Assignment> {
  if (protocol === 'range') return rangeAssign(input);
  if (protocol === 'roundrobin') return roundRobinAssign(input);
  return stickyAssign(input);
}
