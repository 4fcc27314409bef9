/**
 * On-disk format (all integers little-endian):
 *
 *   file   = header frame*
 *   header = "PHJL" (50 48 4A 4C) · version u8 (1) · 3 zero bytes          — 8 bytes
 *   frame  = length u32 · crc u32 · payload[length]
 *   crc    = CRC-32 (zlib/IEEE polynomial, node:zlib crc32) over the 4 length
 *            bytes followed by the payload, so a corrupt length is caught too
 *   payload = one msgpack value (msgpackr, useRecords: false; 64-bit integers
 *            decode as bigint)
 */
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import type { FileHandle } from '@pharaoh/storage';

export const HEADER = Uint8Array.from([0x50, 0x48, 0x4a, 0x4c, 0x01, 0x00, 0x00, 0x00]);
export const HEADER_BYTES = HEADER.length;
export const FRAME_OVERHEAD = 8;

/**
 * Plain msgpack (no msgpackr record extension, so any msgpack reader can
 * decode a payload); uint64/int64 come back as bigint so 64-bit IDs
 * round-trip exactly.
 */
export const journalPackr = new Packr({ useRecords: false, int64AsType: 'bigint' });

/** Encode one record as a complete frame. Throws on unencodable input (caller maps it). */
export function encodeFrame(rec: unknown): Buffer {
  // pack() returns a view into msgpackr's shared buffer: copy before the next pack.
  const payload = journalPackr.pack(rec);
  const frame = Buffer.allocUnsafe(FRAME_OVERHEAD + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, FRAME_OVERHEAD);
  frame.writeUInt32LE(frameCrc(frame, payload.length), 4);
  return frame;
}

/** CRC of the length field plus the payload of the frame starting at `frame[0]`. */
function frameCrc(frame: Buffer, length: number): number {
  const c = crc32(frame.subarray(0, 4));
  return crc32(frame.subarray(FRAME_OVERHEAD, FRAME_OVERHEAD + length), c);
}

export function headerMatches(buf: Uint8Array): boolean {
  if (buf.length < HEADER_BYTES) return false;
  for (let i = 0; i < HEADER_BYTES; i++) if (buf[i] !== HEADER[i]) return false;
  return true;
}

export type TailReason = 'torn-header' | 'torn-length' | 'bad-length' | 'torn-payload' | 'bad-checksum' | 'undecodable';

export interface ScanResult {
  /** Offset just past the last good frame: everything from here on is discarded. */
  validEnd: number;
  records: number;
  /** Why the scan stopped before the end of the file; undefined if it consumed the file exactly. */
  tail: TailReason | undefined;
}

const READ_CHUNK = 1024 * 1024;

/** Sequential reader with one growing window, so a 64 MiB log is read in 1 MiB pieces. */
class Window {
  private buf = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly fileSize: number,
  ) {}

  /** Bytes [pos, pos+n) — the caller has checked they lie inside the file. */
  async get(pos: number, n: number): Promise<Buffer> {
    if (pos < this.start || pos + n > this.start + this.buf.length) {
      const len = Math.min(Math.max(n, READ_CHUNK), this.fileSize - pos);
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const r = await this.file.read(got === 0 ? buf : buf.subarray(got), len - got, pos + got);
        if (r <= 0) break;
        got += r;
      }
      this.buf = buf.subarray(0, got);
      this.start = pos;
      if (got < n) throw Object.assign(new Error(`short read at ${pos}`), { code: 'EIO' });
    }
    return this.buf.subarray(pos - this.start, pos - this.start + n);
  }
}

/**
 * Replay every intact frame after the header, in order, and find where the
 * good prefix ends. Stops at the first frame that is torn (runs past EOF), has
 * a zero or hostile length (> maxRecordBytes), fails its CRC, or does not
 * decode — a record is delivered only if all of its bytes are intact.
 */
export async function scanFrames(
  file: FileHandle,
  fileSize: number,
  maxRecordBytes: number,
  onRecord: (rec: unknown) => void,
): Promise<ScanResult> {
  const win = new Window(file, fileSize);
  let pos = HEADER_BYTES;
  let records = 0;
  const stop = (tail: TailReason): ScanResult => ({ validEnd: pos, records, tail });
  while (pos < fileSize) {
    if (fileSize - pos < FRAME_OVERHEAD) return stop('torn-length');
    const head = await win.get(pos, FRAME_OVERHEAD);
    const length = head.readUInt32LE(0);
    const crc = head.readUInt32LE(4);
    if (length === 0 || length > maxRecordBytes) return stop('bad-length');
    if (fileSize - pos - FRAME_OVERHEAD < length) return stop('torn-payload');
    const frame = await win.get(pos, FRAME_OVERHEAD + length);
    if (frameCrc(frame, length) !== crc) return stop('bad-checksum');
    let rec: unknown;
    try {
      rec = journalPackr.unpack(frame.subarray(FRAME_OVERHEAD));
    } catch {
      return stop('undecodable');
    }
    onRecord(rec);
    records++;
    pos += FRAME_OVERHEAD + length;
  }
  return { validEnd: pos, records, tail: undefined };
}
