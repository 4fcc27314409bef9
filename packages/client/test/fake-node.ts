/**
 * A protocol-speaking fake server process, in memory: hello, ts.get with real
 * per-shard monotonic IDs (TSO layout, `after` honoured, partial ranges at the
 * end of a time unit), and small tx/session state machines. Tests reach in to
 * inject errors, hang requests, or change the shards it claims.
 */
import { PROTOCOL_VERSION, decodeFrame, encodeFrame, errFrame, okFrame, type ErrorCode, type ShardRanges } from '@pharaoh/protocol';
import { REGISTRY, type ServiceName } from '@pharaoh/registry';
import type { Layout } from '@pharaoh/snowflake';


export interface FakeNodeOptions {
  service: ServiceName;
  /** Shards announced in hello. */
  shards: ShardRanges;
  /** Shards actually served (default: `shards`); others answer NOT_OWNER with this list. */
  owns?: ShardRanges;
  maxInFlight?: number;
  maxCount?: number;
  /** Wall clock in ms for IDs (default Date.now). */
  now?: () => number;
}

export type Interceptor = (req: Record<string, unknown>) => { code: ErrorCode; details?: Record<string, unknown> } | 'hang' | undefined;

export class FakeNode {
  readonly requests: Array<Record<string, unknown>> = [];
  inFlightPeak = 0;
  outstanding = 0;
  intercept: Interceptor | undefined;
  /** Accept connections but never send the hello. */
  silent = false;
  private readonly last = new Map<number, bigint>();
  private readonly txs = new Map<bigint, 'ACTIVE' | 'COMMITTED' | 'ABORTED'>();
  private readonly sessions = new Map<bigint, { epoch: number; producer?: string }>();
  private readonly byProducer = new Map<string, bigint>();
  /** sequencer: the next offset of each partition. */
  private readonly offsets = new Map<string, number>();
  /** sequencer: `partition/producerId` → the last token's seq and range. */
  private readonly offsetTokens = new Map<string, { seq: number; first: number; count: number }>();
  readonly layout: Layout;

  constructor(readonly opts: FakeNodeOptions) {
    this.layout = REGISTRY.get(opts.service).layout;
  }

  hello(): Uint8Array {
    const l = this.layout;
    return encodeFrame({
      t: 'hello',
      v: PROTOCOL_VERSION,
      service: this.opts.service,
      shards: this.opts.shards,
      layout: { name: l.name, timeBits: l.timeBits, shardBits: l.shardBits, seqBits: l.seqBits, epochMs: l.epochMs, unitMs: l.unitMs },
      limits: { maxFrameBytes: 1 << 20, maxInFlight: this.opts.maxInFlight ?? 1024, maxCount: this.opts.maxCount ?? 1 << 16 },
      server: 'fake/0',
    });
  }

  owns(shard: number): boolean {
    return (this.opts.owns ?? this.opts.shards).some(([lo, hi]) => shard >= lo && shard <= hi);
  }

  /** Answer one request frame; undefined = never answer. */
  handle(bytes: Uint8Array): Uint8Array | undefined {
    const req = decodeFrame(bytes) as Record<string, unknown>;
    this.requests.push(req);
    const id = req.id as number;
    const forced = this.intercept?.(req);
    if (forced === 'hang') return undefined;
    if (forced !== undefined) return encodeFrame(errFrame(id, forced.code, `injected ${forced.code}`, forced.details ?? {}));
    const shard = typeof req.shard === 'number' ? req.shard : this.idShard(req);
    if (shard !== undefined && !this.owns(shard)) {
      return encodeFrame(errFrame(id, 'NOT_OWNER', `shard ${shard} is not hosted here`, { shards: this.opts.owns ?? this.opts.shards, shard }));
    }
    try {
      return encodeFrame(okFrame(id, this.answer(req, shard!) as never));
    } catch (e) {
      const err = e as { code?: ErrorCode; message: string };
      return encodeFrame(errFrame(id, err.code ?? 'INTERNAL', err.message));
    }
  }

  private idShard(req: Record<string, unknown>): number | undefined {
    const id = req.txId ?? req.sessionId;
    return typeof id === 'bigint' ? this.layout.shardOf(id) : undefined;
  }

  /** The next `count` IDs of `shard` (fewer at the end of a time unit), all > after. */
  nextIds(shard: number, count: number, after: bigint | undefined): { first: bigint; count: number } {
    const l = this.layout;
    const now = l.unitAt((this.opts.now ?? Date.now)());
    const prev = this.last.get(shard);
    let time = Math.max(now, prev === undefined ? 0 : l.timeOf(prev));
    let seq = prev !== undefined && l.timeOf(prev) === time ? Number(prev & l.seqMask) + 1 : 0;
    if (seq > l.maxSeq) [time, seq] = [time + 1, 0];
    if (after !== undefined && l.encode({ time, shard, seq }) <= after) {
      const at = l.timeOf(after);
      [time, seq] = l.shardOf(after) < shard ? [at, 0] : [at + 1, 0];
    }
    const n = Math.min(count, l.maxSeq - seq + 1);
    const first = l.encode({ time, shard, seq });
    this.last.set(shard, first + BigInt(n - 1));
    return { first, count: n };
  }

  private answer(req: Record<string, unknown>, shard: number): Record<string, unknown> {
    const after = req.after === undefined ? undefined : BigInt(req.after as bigint);
    switch (req.op) {
      case 'ping':
        return { now: Date.now() };
      case 'ts.get':
        return this.nextIds(shard, req.count as number, after);
      case 'tx.begin': {
        const txId = this.nextIds(shard, 1, after).first;
        this.txs.set(txId, 'ACTIVE');
        return { txId, startTs: txId, timeoutMs: (req.timeoutMs as number | undefined) ?? 10_000 };
      }
      case 'tx.commit':
      case 'tx.abort':
      case 'tx.status':
      case 'tx.heartbeat':
        return this.txOp(req.op, BigInt(req.txId as bigint));
      case 'session.open':
        return this.open(shard, req.producer as string | undefined, after);
      case 'cdc.next':
        return this.nextIds(shard, (req.count as number | undefined) ?? 1, undefined);
      case 'offsets.assign': {
        // The idempotency token as the sequencer keeps it: the last seq and range per partition and producer.
        const key = `${String(req.partition)}/${String(req.producerId)}`;
        const last = req.producerId === undefined ? undefined : this.offsetTokens.get(key);
        if (last !== undefined && (req.seq as number) === last.seq) return { first: last.first, count: last.count };
        if (last !== undefined && (req.seq as number) < last.seq) throw Object.assign(new Error('stale seq'), { code: 'OFFSETS_STALE_SEQ' });
        const first = this.offsets.get(req.partition as string) ?? 0;
        this.offsets.set(req.partition as string, first + (req.count as number));
        if (req.producerId !== undefined) this.offsetTokens.set(key, { seq: req.seq as number, first, count: req.count as number });
        return { first, count: req.count as number };
      }
      default:
        return this.sessionOp(req.op as string, BigInt(req.sessionId as bigint), req.epoch as number);
    }
  }

  private txOp(op: string, txId: bigint): Record<string, unknown> {
    const st = this.txs.get(txId);
    if (op === 'tx.status') return { status: st ?? 'UNKNOWN' };
    if (st === undefined) throw Object.assign(new Error('no such tx'), { code: 'TX_NOT_FOUND' });
    if (op === 'tx.commit') {
      if (st === 'ABORTED') throw Object.assign(new Error('tx aborted'), { code: 'TX_ABORTED' });
      this.txs.set(txId, 'COMMITTED');
      return { commitTs: txId + 1n };
    }
    if (op === 'tx.abort') {
      if (st === 'COMMITTED') throw Object.assign(new Error('tx committed'), { code: 'TX_COMMITTED' });
      this.txs.set(txId, 'ABORTED');
      return {};
    }
    return { timeoutMs: 10_000 };
  }

  private open(shard: number, producer: string | undefined, after: bigint | undefined): Record<string, unknown> {
    const existing = producer === undefined ? undefined : this.byProducer.get(producer);
    if (existing !== undefined) {
      const s = this.sessions.get(existing)!;
      s.epoch += 1;
      return { sessionId: existing, epoch: s.epoch, timeoutMs: 10_000 };
    }
    const sessionId = this.nextIds(shard, 1, after).first;
    this.sessions.set(sessionId, producer === undefined ? { epoch: 1 } : { epoch: 1, producer });
    if (producer !== undefined) this.byProducer.set(producer, sessionId);
    return { sessionId, epoch: 1, timeoutMs: 10_000 };
  }

  private sessionOp(op: string, sessionId: bigint, epoch: number): Record<string, unknown> {
    const s = this.sessions.get(sessionId);
    if (op === 'session.validate') return { status: s === undefined ? 'UNKNOWN' : s.epoch === epoch ? 'OK' : 'FENCED' };
    if (s === undefined) throw Object.assign(new Error('no such session'), { code: 'SESSION_UNKNOWN' });
    if (s.epoch !== epoch) throw Object.assign(new Error('fenced'), { code: 'SESSION_FENCED' });
    if (op === 'session.close') {
      this.sessions.delete(sessionId);
      return {};
    }
    return { timeoutMs: 10_000 };
  }
}
