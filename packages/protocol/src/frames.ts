import type { ErrorCode, ErrorDetails } from './errors.js';
import type { ShardRanges } from './shards.js';

/** The bit layout of a service's IDs, as sent in `hello`. */
export interface WireLayout {
  name: string;
  timeBits: number;
  shardBits: number;
  seqBits: number;
  /** Layout epoch, ms since the Unix epoch. */
  epochMs: number;
  /** Length of one time unit in ms. */
  unitMs: number;
}

/** Limits the server enforces, announced so clients can stay inside them. */
export interface WireLimits {
  maxFrameBytes: number;
  maxInFlight: number;
  maxCount: number;
}

/** First frame on every connection, sent by the server. */
export interface HelloFrame {
  t: 'hello';
  v: number;
  /** The service's registry name, e.g. `tso`. */
  service: string;
  shards: ShardRanges;
  layout: WireLayout;
  limits: WireLimits;
  /** Free-form server identification, e.g. `pharaoh/0.1.0`. */
  server: string;
}

export interface OkFrame<R = unknown> {
  t: 'res';
  id: number;
  ok: R;
}

export interface ErrFrame {
  t: 'res';
  /** The request's id, or null when the request's id could not be read. */
  id: number | null;
  err: { code: ErrorCode; message: string } & ErrorDetails;
}

export type ResponseFrame = OkFrame | ErrFrame;
export type ServerFrame = HelloFrame | ResponseFrame;

export function okFrame<R>(id: number, ok: R): OkFrame<R> {
  return { t: 'res', id, ok };
}

export function errFrame(id: number | null, code: ErrorCode, message: string, details: ErrorDetails = {}): ErrFrame {
  return { t: 'res', id, err: { ...details, code, message } };
}
