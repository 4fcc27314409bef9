/**
 * `pharaoh shard move --service S --shards 17,40-63 --from URL --to URL`:
 * move shards between two live processes of one service that share a data
 * directory (docs/OPERATIONS.md "Moving shards"; the host's side is
 * packages/server/src/moves.ts). Three admin calls:
 *
 *   release on --from (drain, close carrying the time bound, unlock)
 *   claim   on --to   (lock, identity, open at the larger bound, serve)
 *   forward on --from (NOT_OWNER with movedTo: routers re-route)
 *
 * If the claim fails, the shards are claimed back by --from (it serves them
 * again) and the command fails naming why. With `--fleet FILE` the file's
 * shard ranges are rewritten afterwards, so `fleet status`, `fleet up` and
 * the client's discovery agree with the processes.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createWsTransport, type ClientOptions } from '@pharaoh/client';
import { decodeFrame, encodeFrame, expandShardRanges, formatShardRanges, parseShardRanges, toShardRanges, type ShardRanges } from '@pharaoh/protocol';
import { authOptions, type TargetOptions } from './client-commands.js';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/** How long each admin call may take unless `--timeout`: a release may wait `drainMs` for in-flight requests, a claim replays journals. */
export const DEFAULT_MOVE_CALL_TIMEOUT_MS = 60_000;

/** An error answer of an admin call, with the server's code. */
export class AdminCallError extends CliError {
  constructor(
    readonly endpoint: string,
    readonly op: string,
    readonly wireCode: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(CLI_ERROR_CODES.BAD_ARGUMENT, `${endpoint} ${op}: ${wireCode}: ${message}`);
  }
}

/** One admin connection: the hello, then requests answered in order. */
export class AdminChannel {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (ok: Record<string, unknown>) => void; reject: (err: Error) => void; op: string }>();
  private constructor(
    readonly endpoint: string,
    readonly hello: { service: string; shards: ShardRanges },
    private readonly socket: { send(b: Uint8Array): void; terminate(): void },
    private readonly timeoutMs: number,
  ) {}

  /** Connect to `endpoint` with the CLI's token and CA (see authOptions) and read its hello. */
  static open(endpoint: string, auth: Pick<ClientOptions, 'token' | 'tls'>, timeoutMs: number): Promise<AdminChannel> {
    return new Promise((resolve, reject) => {
      let channel: AdminChannel | undefined;
      const timer = setTimeout(() => {
        sock.terminate();
        reject(new CliError(CLI_ERROR_CODES.UNREACHABLE, `${endpoint}: no hello within ${timeoutMs} ms`));
      }, timeoutMs);
      const sock = createWsTransport(auth).open(endpoint, {
        onOpen: () => {},
        onMessage: (data) => {
          let frame: Record<string, unknown>;
          try {
            frame = decodeFrame(data) as Record<string, unknown>;
          } catch {
            return;
          }
          if (channel === undefined) {
            clearTimeout(timer);
            if (frame.t !== 'hello' || typeof frame.service !== 'string' || !Array.isArray(frame.shards)) {
              sock.terminate();
              reject(new CliError(CLI_ERROR_CODES.UNREACHABLE, `${endpoint}: not a Pharaoh endpoint (no hello)`));
              return;
            }
            channel = new AdminChannel(endpoint, { service: frame.service, shards: frame.shards as ShardRanges }, sock, timeoutMs);
            resolve(channel);
            return;
          }
          channel.onFrame(frame);
        },
        onClose: (_code, reason, error) => {
          clearTimeout(timer);
          const why = error?.message ?? (reason || 'connection closed');
          if (channel === undefined) reject(new CliError(CLI_ERROR_CODES.UNREACHABLE, `cannot connect to ${endpoint}: ${why}`));
          else channel.failAll(new CliError(CLI_ERROR_CODES.UNREACHABLE, `${endpoint}: connection lost: ${why}`));
        },
      });
    });
  }

  /** Send `op` with `args`; resolves with its `ok` map, rejects with AdminCallError for an error answer. */
  call(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new CliError(CLI_ERROR_CODES.UNREACHABLE, `${this.endpoint} ${op}: no answer within ${this.timeoutMs} ms (the move's state is unknown: run the same command again)`));
      }, this.timeoutMs);
      this.waiting.set(id, {
        op,
        resolve: (ok) => {
          clearTimeout(timer);
          resolve(ok);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.socket.send(encodeFrame({ id, op, ...args }));
    });
  }

  private onFrame(frame: Record<string, unknown>): void {
    const w = typeof frame.id === 'number' ? this.waiting.get(frame.id) : undefined;
    if (w === undefined) return;
    this.waiting.delete(frame.id as number);
    const err = frame.err as { code?: unknown; message?: unknown } | undefined;
    if (err !== undefined) {
      const { code, message, ...details } = err as Record<string, unknown>;
      w.reject(new AdminCallError(this.endpoint, w.op, String(code), String(message), details));
    } else w.resolve((frame.ok ?? {}) as Record<string, unknown>);
  }

  failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  close(): void {
    this.socket.terminate();
  }
}

export interface MoveOptions extends Pick<TargetOptions, 'tokenFile' | 'caFile' | 'timeout'> {
  service: string;
  /** "17,40-63" */
  shards: string;
  from: string;
  to: string;
  /** How long the source may wait for requests in flight on the shards (ms). */
  drainMs?: number;
  /** Rewrite this fleet file's shard ranges of the two endpoints. */
  fleet?: string;
}

export interface MoveResult {
  shards: ShardRanges;
  /** ms from the release call to the claim's answer: the longest any moved shard answered nothing but SHARD_UNAVAILABLE. */
  unavailableMs: number;
  releaseMs: number;
  claimMs: number;
  forwardMs: number;
  /** The largest time bound (ticks) the moved shards carried. */
  boundTicks: number;
  fleetRewritten: boolean;
}

function badArg(message: string): CliError {
  return new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, message);
}

function checkUrl(flag: string, url: string): string {
  if (!/^wss?:\/\/[^/\s]+\/?$/.test(url)) throw badArg(`${flag} ${url} is not a ws:// or wss:// endpoint URL (e.g. ws://127.0.0.1:7100)`);
  return url.replace(/\/$/, '');
}

/** Run the move; see the file comment. Throws CliError naming the step that failed and what state it left. */
export async function moveShards(o: MoveOptions, env: NodeJS.ProcessEnv = process.env): Promise<MoveResult> {
  let ranges: ShardRanges;
  try {
    ranges = parseShardRanges(o.shards);
  } catch (err) {
    throw badArg(`--shards ${(err as Error).message}`);
  }
  const from = checkUrl('--from', o.from);
  const to = checkUrl('--to', o.to);
  if (from === to) throw badArg('--from and --to are the same endpoint');
  const auth = authOptions(o, env);
  const timeoutMs = o.timeout ?? DEFAULT_MOVE_CALL_TIMEOUT_MS;
  const opened = await Promise.allSettled([AdminChannel.open(from, auth, timeoutMs), AdminChannel.open(to, auth, timeoutMs)]);
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    for (const r of opened) if (r.status === 'fulfilled') r.value.close();
    throw (failed as PromiseRejectedResult).reason;
  }
  const [src, dst] = opened.map((r) => (r as PromiseFulfilledResult<AdminChannel>).value) as [AdminChannel, AdminChannel];
  try {
    for (const c of [src, dst]) {
      if (c.hello.service !== o.service) throw badArg(`${c.endpoint} serves ${c.hello.service}, not ${o.service}`);
    }
    const hosted = new Set(expandShardRanges(src.hello.shards));
    const missing = expandShardRanges(ranges).filter((s) => !hosted.has(s));
    if (missing.length > 0) throw badArg(`${from} does not host shard(s) ${formatShardRanges(toShardRanges(missing))} of ${o.service} (it hosts ${formatShardRanges(src.hello.shards) || 'none'})`);
    const shards = formatShardRanges(ranges);
    const t0 = performance.now();
    const released = await src.call('admin.shards.release', { shards, ...(o.drainMs === undefined ? {} : { drainMs: o.drainMs }) });
    const t1 = performance.now();
    try {
      await dst.call('admin.shards.claim', { shards });
    } catch (err) {
      // Undo: the source takes the shards back and serves them again.
      const undo = await src.call('admin.shards.claim', { shards }).then(
        () => 'the source took the shards back and serves them again',
        (e: Error) => `taking them back on the source failed too (${e.message}): they are served by neither; run the same command again, or claim them on the source`,
      );
      throw new CliError(CLI_ERROR_CODES.START_FAILED, `${to} could not claim the shards: ${(err as Error).message}; ${undo}`);
    }
    const t2 = performance.now();
    await src.call('admin.shards.forward', { shards, to });
    const t3 = performance.now();
    const fleetRewritten = o.fleet === undefined ? false : (rewriteFleetFile(o.fleet, o.service, from, to, ranges), true);
    const round = (x: number): number => Math.round(x * 10) / 10;
    return {
      shards: ranges,
      unavailableMs: round(t2 - t0),
      releaseMs: round(t1 - t0),
      claimMs: round(t2 - t1),
      forwardMs: round(t3 - t2),
      boundTicks: typeof released.boundTicks === 'number' ? released.boundTicks : 0,
      fleetRewritten,
    };
  } finally {
    src.close();
    dst.close();
  }
}

/**
 * Move `ranges` of `service` from the member with endpoint `from` to the one
 * with endpoint `to` in the fleet file `file` (JSON), written to a temporary
 * file and renamed over it. A member left with no shard is removed (its
 * process hosts nothing of the service any more). Other keys are kept.
 */
export function rewriteFleetFile(file: string, service: string, from: string, to: string, ranges: ShardRanges): void {
  let json: { services?: Record<string, Array<{ endpoint: string; shards: string | Array<[number, number]> }>> };
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw badArg(`cannot read the fleet file ${file}: ${(err as Error).message} (the shards were moved; fix the file by hand)`);
  }
  const members = json.services?.[service];
  const norm = (u: string): string => u.replace(/\/$/, '');
  const src = members?.find((m) => norm(m.endpoint) === from);
  const dst = members?.find((m) => norm(m.endpoint) === to);
  if (members === undefined || src === undefined || dst === undefined) {
    throw badArg(`the fleet file ${file} has no ${service} member with endpoint ${src === undefined ? from : to} (the shards were moved; fix the file by hand)`);
  }
  const text = (s: string | Array<[number, number]>): string => (typeof s === 'string' ? s : s.map(([lo, hi]) => `${lo}-${hi}`).join(','));
  const moved = new Set(expandShardRanges(ranges));
  const left = expandShardRanges(parseShardRanges(text(src.shards))).filter((s) => !moved.has(s));
  const gained = new Set([...expandShardRanges(parseShardRanges(text(dst.shards))), ...moved]);
  dst.shards = formatShardRanges(toShardRanges([...gained].sort((a, b) => a - b)));
  if (left.length === 0) members.splice(members.indexOf(src), 1);
  else src.shards = formatShardRanges(toShardRanges(left));
  const tmp = `${file}.moving-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(json, null, 2) + '\n');
  renameSync(tmp, file);
}

/** The three steps of a move, for moves across hosts (docs/OPERATIONS.md "Moving shards"): which admin op each runs. */
export const MOVE_STEPS = { release: 'admin.shards.release', claim: 'admin.shards.claim', forward: 'admin.shards.forward' } as const;

/**
 * `pharaoh shard release|claim|forward --endpoint URL --shards R`: one step of
 * a move on one process; returns the server's answer.
 */
export async function moveStep(
  step: keyof typeof MOVE_STEPS,
  o: Pick<TargetOptions, 'tokenFile' | 'caFile' | 'timeout'> & { endpoint: string; shards: string; to?: string; drainMs?: number },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, unknown>> {
  try {
    parseShardRanges(o.shards);
  } catch (err) {
    throw badArg(`--shards ${(err as Error).message}`);
  }
  const endpoint = checkUrl('--endpoint', o.endpoint);
  if (step === 'forward' && o.to === undefined) throw badArg('shard forward needs --to <url>: the endpoint that hosts the shards now');
  const auth = authOptions({ ...(o.tokenFile === undefined ? {} : { tokenFile: o.tokenFile }), ...(o.caFile === undefined ? {} : { caFile: o.caFile }) }, env);
  const ch = await AdminChannel.open(endpoint, auth, o.timeout ?? DEFAULT_MOVE_CALL_TIMEOUT_MS);
  try {
    const args: Record<string, unknown> = { shards: o.shards };
    if (step === 'forward') args.to = checkUrl('--to', o.to!);
    if (step === 'release' && o.drainMs !== undefined) args.drainMs = o.drainMs;
    return await ch.call(MOVE_STEPS[step], args);
  } finally {
    ch.close();
  }
}
