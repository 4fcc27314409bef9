/**
 * Connection status events, delivered to listeners (`client.on('status', fn)`)
 * and to async iterators (`for await (const e of client.status())`). Iterators
 * buffer a bounded number of events so a slow reader cannot grow memory without
 * limit; the oldest are dropped first.
 */
import type { ShardRanges } from '@pharaoh/protocol';

/** A service's registry name. */
type ServiceName = string;

export type StatusEvent =
  /** First hello from an endpoint. */
  | { type: 'connect'; endpoint: string; service: ServiceName; shards: ShardRanges; server: string }
  /** An open connection dropped; the client reconnects with backoff. */
  | { type: 'disconnect'; endpoint: string; service: ServiceName | undefined; error: string }
  /** A dropped endpoint is back (new hello). */
  | { type: 'reconnect'; endpoint: string; service: ServiceName; shards: ShardRanges }
  /**
   * Shard ownership differs from what the client believed: a hello or a
   * NOT_OWNER answer changed an endpoint's shards, or two live endpoints claim
   * one shard (`reason: 'conflict'`: the older claim is kept).
   */
  | {
      type: 'fleet-changed';
      service: ServiceName;
      endpoint: string;
      reason: 'hello' | 'not-owner' | 'conflict';
      before: ShardRanges | undefined;
      after: ShardRanges;
      detail: string;
    };

export type StatusListener = (e: StatusEvent) => void;

/** Events an iterator keeps for a reader that falls behind. */
export const STATUS_BUFFER = 1024;

export class StatusHub {
  private readonly listeners = new Set<StatusListener>();
  private readonly iterators = new Set<StatusIterator>();
  private ended = false;

  on(fn: StatusListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  off(fn: StatusListener): void {
    this.listeners.delete(fn);
  }

  emit(e: StatusEvent): void {
    if (this.ended) return;
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // A throwing listener must not break the client's own bookkeeping.
      }
    }
    for (const it of this.iterators) it.push(e);
  }

  iterator(): AsyncIterableIterator<StatusEvent> {
    const it = new StatusIterator(() => this.iterators.delete(it));
    if (this.ended) it.end();
    else this.iterators.add(it);
    return it;
  }

  /** The client closed: iterators finish after delivering what they hold. */
  end(): void {
    this.ended = true;
    for (const it of this.iterators) it.end();
    this.iterators.clear();
    this.listeners.clear();
  }
}

class StatusIterator implements AsyncIterableIterator<StatusEvent> {
  private readonly buffer: StatusEvent[] = [];
  private waiter: ((r: IteratorResult<StatusEvent>) => void) | undefined;
  private done = false;

  constructor(private readonly detach: () => void) {}

  push(e: StatusEvent): void {
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: e, done: false });
      return;
    }
    if (this.buffer.length >= STATUS_BUFFER) this.buffer.shift();
    this.buffer.push(e);
  }

  end(): void {
    this.done = true;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<StatusEvent>> {
    const e = this.buffer.shift();
    if (e !== undefined) return Promise.resolve({ value: e, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<StatusEvent>> {
    this.detach();
    this.end();
    this.buffer.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StatusEvent> {
    return this;
  }
}
