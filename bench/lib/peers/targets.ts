/**
 * What the peer comparison measures: each target is "one way to get fresh,
 * unique IDs", with the durability it really gives. Each target's `open`
 * prepares `concurrency` callers' worth of connections and returns the call.
 *
 * Client concurrency is equal for all: `concurrency` callers with one call
 * outstanding each. Transport is each system's natural one: Pharaoh — one
 * client router (one WebSocket per endpoint, concurrent calls coalesced into
 * batches); Redis — one connection with auto-pipelining (Redis is single
 * threaded; commands queued in one tick go out in one write); PostgreSQL — one
 * connection per caller (a connection runs one query at a time).
 */
import { shardForKey } from '@pharaoh/protocol';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { PostgresPeer } from './postgres.js';
import type { RedisPeer } from './redis.js';

export type System = 'pharaoh' | 'redis' | 'postgres';

export interface Target {
  id: string;
  system: System;
  label: string;
  /** IDs each call obtains (1, or the batch size). */
  idsPerCall: number;
  crashSafe: boolean;
  /** One line: what is durable when the call returns. */
  durability: string;
  open(concurrency: number): Promise<Opened>;
}

export interface Opened {
  op: () => Promise<number>;
  close(): Promise<void>;
}

export const BATCH = 100;

/** The slice of @pharaoh/client the benchmark uses (imported dynamically so a missing client is a skip, not a crash). */
export interface TsoClient {
  tso: {
    next(opts?: { key?: string }): Promise<bigint>;
    range(n: number): Promise<{ first: bigint; count: number }>;
  };
  close(): Promise<void>;
}

export type ConnectClient = (endpoints: string[]) => Promise<TsoClient>;

/** One key per shard (FNV-1a routing, as the client router does), found by trying k0, k1, ... */
export function keyPerShard(): string[] {
  const keys: Array<string | undefined> = new Array(1024);
  let found = 0;
  for (let i = 0; found < 1024 && i < 1_000_000; i++) {
    const s = shardForKey(`k${i}`);
    if (keys[s] === undefined) {
      keys[s] = `k${i}`;
      found++;
    }
  }
  return keys.filter((k): k is string => k !== undefined);
}

/**
 * Ask every shard once before measuring: a shard's first request makes its
 * durable bound advance (one fdatasync per shard), a one-time cost after start
 * that is not the steady state being compared.
 */
export async function primeShards(client: TsoClient, shards?: number[]): Promise<bigint[]> {
  const keys = keyPerShard();
  return Promise.all((shards ?? keys.map((_k, i) => i)).map((s) => client.tso.next({ key: keys[s]! })));
}

export function pharaohTargets(url: string, connect: ConnectClient, shards: number[]): Target[] {
  const key = keyPerShard()[shards[0] ?? 0]!;
  const durability = 'every ID is below a time bound made durable by fdatasync before it is handed out';
  const open = async (mode: 'next' | 'keyed' | 'range'): Promise<Opened> => {
    const client = await connect([url]);
    await primeShards(client, shards);
    const ops = {
      next: async (): Promise<number> => {
        await client.tso.next();
        return 1;
      },
      keyed: async (): Promise<number> => {
        await client.tso.next({ key });
        return 1;
      },
      range: async (): Promise<number> => (await client.tso.range(BATCH)).count,
    };
    return { op: ops[mode], close: () => client.close() };
  };
  return [
    {
      id: 'pharaoh-next',
      system: 'pharaoh',
      label: `Pharaoh TSO \`tso.next()\` (router spreads over ${shards.length} shards)`,
      idsPerCall: 1,
      crashSafe: true,
      durability,
      open: () => open('next'),
    },
    {
      id: 'pharaoh-next-keyed',
      system: 'pharaoh',
      label: "Pharaoh TSO `tso.next({key})` (one key: one shard)",
      idsPerCall: 1,
      crashSafe: true,
      durability,
      open: () => open('keyed'),
    },
    {
      id: 'pharaoh-range',
      system: 'pharaoh',
      label: `Pharaoh TSO \`tso.range(${BATCH})\``,
      idsPerCall: BATCH,
      crashSafe: true,
      durability,
      open: () => open('range'),
    },
  ];
}

function redisOpen(peer: RedisPeer, cmd: (c: Redis) => Promise<unknown>, ids: number): () => Promise<Opened> {
  return async () => {
    const c = peer.connect(true);
    await c.ping();
    return {
      op: async () => {
        await cmd(c);
        return ids;
      },
      close: async () => {
        c.disconnect();
      },
    };
  };
}

export function redisTargets(peer: RedisPeer, policy: 'always' | 'everysec'): Target[] {
  const always = policy === 'always';
  const durability = always
    ? 'the reply is sent after the AOF write and fsync that contain the increment (Redis fsyncs once per event-loop pass, covering every client served in it)'
    : 'the reply is sent after write() to the AOF but before fsync (fsync once a second in the background): a power loss or OS crash can lose the last ~1-2 s of increments, and Redis then hands those values out again. Survives a Redis process kill.';
  const rows: Target[] = [
    {
      id: `redis-incr-${policy}`,
      system: 'redis',
      label: `Redis \`INCR\`, appendfsync ${policy}`,
      idsPerCall: 1,
      crashSafe: always,
      durability,
      open: redisOpen(peer, (c) => c.incr('bench:id'), 1),
    },
  ];
  if (always) {
    rows.push({
      id: 'redis-incrby-always',
      system: 'redis',
      label: `Redis \`INCRBY ${BATCH}\`, appendfsync always`,
      idsPerCall: BATCH,
      crashSafe: true,
      durability,
      open: redisOpen(peer, (c) => c.incrby('bench:block', BATCH), BATCH),
    });
  }
  return rows;
}

/** One connection per caller, round-robin: a PostgreSQL connection runs one query at a time. */
function pgOpen(peer: PostgresPeer, name: string, sql: string, ids: number): (concurrency: number) => Promise<Opened> {
  return async (concurrency) => {
    const free: pg.Client[] = [];
    for (let i = 0; i < concurrency; i++) free.push(await peer.connect());
    const all = [...free];
    return {
      op: async () => {
        const c = free.pop();
        if (!c) throw new Error('more callers than connections');
        try {
          const r = await c.query({ text: sql, name }); // prepared once per connection
          if (r.rowCount !== 1) throw new Error(`expected one row, got ${r.rowCount}`);
          return ids;
        } finally {
          free.push(c);
        }
      },
      close: async () => {
        await Promise.all(all.map((c) => c.end()));
      },
    };
  };
}

export const PG_SCHEMA = [
  'CREATE SEQUENCE IF NOT EXISTS bench_seq',
  `CREATE SEQUENCE IF NOT EXISTS bench_block_seq INCREMENT BY ${BATCH}`,
  "CREATE TABLE IF NOT EXISTS bench_ids (id bigint PRIMARY KEY DEFAULT nextval('bench_seq'))",
  "CREATE TABLE IF NOT EXISTS bench_blocks (first bigint PRIMARY KEY DEFAULT nextval('bench_block_seq'))",
];

export const PG_NEXTVAL_CAVEAT =
  'A sequence is WAL-logged ahead: when nextval() must log, it writes one WAL record claiming the next 32 values, and that call gets a transaction id, so its commit waits for the WAL flush (synchronous_commit=on). The other 31 calls write no WAL and have no transaction id, so their commit waits for nothing. Alone, one session is safe (the record covering its values was flushed at the commit of the call that wrote it). With concurrent sessions, a call can return a value covered by a record another session wrote but has not flushed yet; a crash before that flush (PostgreSQL crash, OS crash or power loss; unflushed WAL buffers are lost) rewinds the sequence and the value is handed out again. The background WAL writer closes the window within a few hundred ms, but the window is real.';

export function postgresTargets(peer: PostgresPeer): Target[] {
  const insertDurability =
    'the commit (synchronous_commit=on, fsync=on) flushes WAL up to its commit record, which lies after the sequence WAL record covering the value; the row is stored under a primary key';
  return [
    {
      id: 'pg-nextval',
      system: 'postgres',
      label: "PostgreSQL `SELECT nextval('s')`",
      idsPerCall: 1,
      crashSafe: false,
      durability: PG_NEXTVAL_CAVEAT,
      open: pgOpen(peer, 'nextval', "SELECT nextval('bench_seq')", 1),
    },
    {
      id: 'pg-insert',
      system: 'postgres',
      label: 'PostgreSQL `INSERT … RETURNING` (sequence default)',
      idsPerCall: 1,
      crashSafe: true,
      durability: insertDurability,
      open: pgOpen(peer, 'insert', 'INSERT INTO bench_ids DEFAULT VALUES RETURNING id', 1),
    },
    {
      id: 'pg-insert-block',
      system: 'postgres',
      label: `PostgreSQL \`INSERT … RETURNING\` of a ${BATCH}-ID block`,
      idsPerCall: BATCH,
      crashSafe: true,
      durability: `${insertDurability}; the sequence has INCREMENT BY ${BATCH}, so each row reserves ${BATCH} IDs`,
      open: pgOpen(peer, 'insert_block', 'INSERT INTO bench_blocks DEFAULT VALUES RETURNING first', BATCH),
    },
  ];
}
