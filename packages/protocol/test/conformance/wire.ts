/**
 * Hex builders for hand-made frames: every integer encoding, every string
 * length form, maps whose values are already hex. The vectors need frames an
 * encoder would never write (a fixint sent as uint64, `5.0` for an integer).
 */
import { encodeFrame } from '../../src/index.js';

export type IntForm = 'fix' | 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64';
export const INT_FORMS: readonly IntForm[] = ['fix', 'u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64'];

const WIDTH: Record<Exclude<IntForm, 'fix'>, [prefix: string, bytes: number, signed: boolean]> = {
  u8: ['cc', 1, false],
  u16: ['cd', 2, false],
  u32: ['ce', 4, false],
  u64: ['cf', 8, false],
  i8: ['d0', 1, true],
  i16: ['d1', 2, true],
  i32: ['d2', 4, true],
  i64: ['d3', 8, true],
};

/** Can `n` be written in `form`? */
export function fits(n: bigint, form: IntForm): boolean {
  if (form === 'fix') return n >= -32n && n <= 127n;
  const [, bytes, signed] = WIDTH[form];
  const bits = BigInt(bytes * 8);
  return signed ? n >= -(1n << (bits - 1n)) && n < 1n << (bits - 1n) : n >= 0n && n < 1n << bits;
}

/** The smallest form `n` fits in (what an encoder writes). */
export function smallest(n: number | bigint): IntForm {
  const v = BigInt(n);
  const order: IntForm[] = v >= 0n ? ['fix', 'u8', 'u16', 'u32', 'u64'] : ['fix', 'i8', 'i16', 'i32', 'i64'];
  const f = order.find((x) => fits(v, x));
  if (f === undefined) throw new Error(`${v} fits no msgpack integer`);
  return f;
}

/** `n` written in `form` (default: the smallest; throws if it does not fit). */
export function int(n: number | bigint, form: IntForm = smallest(n)): string {
  const v = BigInt(n);
  if (!fits(v, form)) throw new Error(`${v} does not fit ${form}`);
  if (form === 'fix') return (v < 0n ? v + 256n : v).toString(16).padStart(2, '0');
  const [prefix, bytes] = WIDTH[form];
  const twos = v < 0n ? v + (1n << BigInt(bytes * 8)) : v;
  return prefix + twos.toString(16).padStart(bytes * 2, '0');
}

/** Every form `n` fits in. */
export function formsOf(n: number | bigint): IntForm[] {
  return INT_FORMS.filter((f) => fits(BigInt(n), f));
}

export type StrForm = 'fix' | 's8' | 's16' | 's32';

/** A str in the given length form (default: the smallest). */
export function str(s: string, form?: StrForm): string {
  const bytes = Buffer.from(s, 'utf8');
  const n = bytes.length;
  const f = form ?? (n < 32 ? 'fix' : n < 0x100 ? 's8' : n < 0x10000 ? 's16' : 's32');
  const head =
    f === 'fix'
      ? (0xa0 | n).toString(16)
      : f === 's8'
        ? 'd9' + n.toString(16).padStart(2, '0')
        : f === 's16'
          ? 'da' + n.toString(16).padStart(4, '0')
          : 'db' + n.toString(16).padStart(8, '0');
  return head + bytes.toString('hex');
}

export function f64(x: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return 'cb' + b.toString('hex');
}

export function f32(x: number): string {
  const b = Buffer.alloc(4);
  b.writeFloatBE(x);
  return 'ca' + b.toString('hex');
}

export function bin(hex: string): string {
  return 'c4' + (hex.length / 2).toString(16).padStart(2, '0') + hex;
}

export const NIL = 'c0';
export const TRUE = 'c3';
export const FALSE = 'c2';

/** A map whose values are hex; keys written as the smallest str. */
export function map(entries: Array<[string, string]>): string {
  const n = entries.length;
  const head = n < 16 ? (0x80 | n).toString(16) : 'de' + n.toString(16).padStart(4, '0');
  return head + entries.map(([k, v]) => str(k) + v).join('');
}

export function arr(items: string[]): string {
  const n = items.length;
  const head = n < 16 ? (0x90 | n).toString(16) : 'dc' + n.toString(16).padStart(4, '0');
  return head + items.join('');
}

/** The canonical hex of a value (what encodeFrame writes). */
export function enc(value: unknown): string {
  return encodeFrame(value).toString('hex');
}

/** A request frame: `{id, op, ...fields}` with field values given as hex. */
export function request(id: number, op: string, fields: Array<[string, string]> = []): string {
  return map([['id', int(id)], ['op', str(op)], ...fields]);
}

/** A masked client WebSocket frame (mask key 0, so the payload reads as is). */
export function wsFrame(firstByte: number, payloadHex: string, masked = true): string {
  const len = payloadHex.length / 2;
  if (len > 125) {
    return firstByte.toString(16).padStart(2, '0') + (masked ? 'fe' : '7e') + len.toString(16).padStart(4, '0') + (masked ? '00000000' : '') + payloadHex;
  }
  return firstByte.toString(16).padStart(2, '0') + ((masked ? 0x80 : 0) | len).toString(16).padStart(2, '0') + (masked ? '00000000' : '') + payloadHex;
}
