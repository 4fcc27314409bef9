/**
 * Timeouts for many pending things with one timer. Every entry gets the same
 * timeout, so deadlines are in insertion order and a FIFO is enough: the timer
 * is armed for the oldest unfinished entry only. A timer per call would cost a
 * timer allocation per ID at hundreds of thousands of calls per second.
 */
import type { Clock } from './options.js';

export interface Expirable {
  /** Set by the owner once the entry finished; finished entries are skipped. */
  done: boolean;
  /** Set by `Deadlines.add` (kept on the entry to spare an allocation per call). */
  deadline: number;
  /** Called once when the deadline passes before `done`. */
  expire(): void;
}

export class Deadlines<E extends Expirable = Expirable> {
  private queue: E[] = [];
  private head = 0;
  private timer: unknown = undefined;
  private timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    readonly timeoutMs: number,
  ) {}

  /** Track `entry`; it expires `timeoutMs` from now unless it is done first. */
  add(entry: E): void {
    this.addWithDeadline(entry, this.clock.now() + this.timeoutMs);
  }

  /**
   * Track `entry` with a deadline the caller computed (one clock read for a
   * whole batch). Deadlines must not go down from one add to the next: the
   * queue is a FIFO.
   */
  addWithDeadline(entry: E, deadline: number): void {
    entry.deadline = deadline;
    this.queue.push(entry);
    if (this.timer === undefined) this.arm(deadline);
  }

  /**
   * Mark `entry` finished. Finished entries at the front are dropped at once, so
   * with calls finishing roughly in order the queue stays as short as the
   * number of calls in flight.
   */
  finish(entry: E): void {
    entry.done = true;
    this.sweep();
  }

  /** Drop the finished entries at the front (after the owner set `done` on several at once). */
  sweep(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    this.compact();
  }

  /** Number of tracked slots (finished ones are dropped lazily). */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** Stop the timer and hand back every unfinished entry, marked done (the caller fails them). */
  drain(): E[] {
    const live: E[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (!e.done) {
        e.done = true;
        live.push(e);
      }
    }
    this.clear();
    return live;
  }

  /** Stop the timer and forget every entry (without expiring them). */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.queue = [];
    this.head = 0;
  }

  private arm(at: number): void {
    this.timerAt = at;
    // +1: timers may fire a fraction of a ms early relative to performance.now().
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()) + 1);
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    const expired: E[] = [];
    while (this.head < this.queue.length) {
      const e = this.queue[this.head]!;
      if (!e.done && e.deadline > now) break;
      this.head++;
      if (!e.done) expired.push(e);
    }
    this.compact();
    for (const e of expired) {
      e.done = true;
      e.expire();
    }
    // Skip finished entries so the timer is armed for a live one (or not at all).
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    this.compact();
    const next = this.queue[this.head];
    if (next !== undefined && this.timer === undefined) this.arm(next.deadline);
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
