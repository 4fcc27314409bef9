/** What a client worker is told (argv) and what it reports (one JSON line each on stdout). */

export interface WorkerConfig {
  /** Fleet file path (inside the worker's host: names resolve through the host's hosts file). */
  fleet: string;
  /** CA certificate (PEM) path. */
  ca: string;
  token: string;
  /** The client's timeoutMs: a call's whole budget, retries and failover included. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Pause between two calls of one loop (keyed and tx loops pause 4×). */
  pauseMs: number;
  /** One key per server host: a keyed loop each, reaching only that host's shards. */
  keys: string[];
  /** Named producers, one per server host: opened again and again (each open fences the previous epoch). */
  producers: string[];
  /** The loops end by themselves after this long even if `stop` never comes. */
  maxLifeMs: number;
}

/** Times are `performance.timeOrigin + performance.now()` (ms, comparable between processes of one machine). */
export type WorkerEvent =
  | { e: 'ready'; t: number }
  | CallEvent
  | { e: 'status'; t: number; type: string; endpoint: string; reason?: string; detail?: string }
  | { e: 'verify'; checked: number; violations: string[] }
  | { e: 'probe'; t0: number; t1: number; refused: boolean; code: string; msg: string }
  | { e: 'done'; t: number }
  | { e: 'fatal'; t: number; code: string; msg: string };

/** One call of a loop: `l` the loop, ok with the ID (decimal) and its shard, or the error's code and message. */
export interface CallEvent {
  e: 'call';
  l: string;
  t0: number;
  t1: number;
  ok: boolean;
  id?: string;
  shard?: number;
  commitTs?: string;
  /** A named producer's open: the producer and the epoch it got. */
  producer?: string;
  epoch?: number;
  code?: string;
  msg?: string;
}
