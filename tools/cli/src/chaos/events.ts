/**
 * What the crash test records: every answer a client worker received (and
 * every decision it attempted), and every kill and restart the harness made,
 * one JSON object per line. Times are wall-clock `Date.now()` ms (shared by
 * all processes on the machine); `ls`/`lr` are a per-worker logical clock
 * (exact order inside one process). IDs are decimal strings.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

interface Timed {
  /** Worker number. */
  w: number;
  /** Wall clock when the call was made / when its answer arrived. */
  s: number;
  r: number;
  /** Logical clock of the call / the answer, inside worker `w`. */
  ls: number;
  lr: number;
}

/** A range of timestamps from `ts.range`. */
export interface TsEvent extends Timed { k: 'ts'; first: string; n: number }
/** An acknowledged `tx.begin`. */
export interface TxBeginEvent extends Timed { k: 'txb'; id: string; st: string }
/** A decision about to be sent (logged before sending: its outcome may be unknown). */
export interface TxIntentEvent { k: 'txi'; w: number; id: string; d: 'commit' | 'abort' }
/** An acknowledged commit / abort. */
export interface TxCommitEvent extends Timed { k: 'txc'; id: string; ct: string }
export interface TxAbortEvent extends Timed { k: 'txa'; id: string }
/** A session open about to be sent (named producers; its outcome may be unknown). */
export interface SessionIntentEvent { k: 'soi'; w: number; p: string }
/** An acknowledged session open; `p` is absent for anonymous sessions. */
export interface SessionOpenEvent extends Timed { k: 'so'; id: string; ep: number; p?: string }
/** A validate answer during the run. */
export interface SessionValidateEvent extends Timed { k: 'sv'; id: string; ep: number; st: string }
/** A failed call. */
export interface ErrorEvent { k: 'err'; w: number; op: string; code: string; t: number }

export type WorkerEvent =
  | TsEvent
  | TxBeginEvent
  | TxIntentEvent
  | TxCommitEvent
  | TxAbortEvent
  | SessionIntentEvent
  | SessionOpenEvent
  | SessionValidateEvent
  | ErrorEvent;

/** Harness events: a process was SIGKILLed at `t` (just before the signal) / started at `t` (just before spawn). */
export interface KillEvent { k: 'kill'; label: string; t: number }
export interface StartEvent { k: 'start'; label: string; t: number }
/** A shard move between two live processes (`pharaoh shard move`'s steps): `t` just before the release, `tEnd` after the forward. */
export interface MoveEvent { k: 'move'; service: string; from: string; to: string; shards: number[]; t: number; tEnd: number; unavailableMs: number }
/** A live backup of the shards `label` hosts: begun at `t` (the manifest's backupAt), done at `tEnd`. */
export interface BackupEvent { k: 'backup'; label: string; service: string; shards: number[]; t: number; tEnd: number }
/**
 * A restore: `label` was SIGKILLed and certainly dead at `t` (after its own
 * 'kill' event, recorded just before the signal: a call made in between may
 * still have been served by it), its shards'
 * directories removed and the backup taken at `backupAt` put back
 * (`pharaoh restore`), then it was started again at `tStart` (its 'start'
 * event): no answer received before `tStart` came from the restored state.
 */
export interface RestoreEvent { k: 'restore'; label: string; service: string; shards: number[]; t: number; backupAt: number; tStart: number }
export type HarnessEvent = KillEvent | StartEvent | MoveEvent | BackupEvent | RestoreEvent;

/**
 * Appends lines to a file with synchronous writes, buffered for at most
 * `flushMs`: what was written survives the process being killed (it is in
 * the kernel), and a worker that is stopped flushes the rest on exit.
 */
export class NdjsonWriter {
  private readonly fd: number;
  private buf: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(path: string, private readonly flushMs = 50) {
    this.fd = openSync(path, 'a');
  }

  write(obj: object): void {
    this.buf.push(JSON.stringify(obj));
    this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Read an NDJSON file; a torn last line (a writer killed mid-write) is skipped. */
export function readNdjson<T>(path: string): T[] {
  const out: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      /* torn line */
    }
  }
  return out;
}
