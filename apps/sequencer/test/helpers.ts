/** Shared by the sequencer tests (a test file must not import another: its tests would run twice). */
import { shardForKey } from '@pharaoh/protocol';

/** Keys that hash to `shard` (found by counting up; the hash is fixed by the protocol). */
export function keysFor(shard: number, n: number, prefix = 'partition'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 10_000_000; i++) if (shardForKey(`${prefix}-${i}`) === shard) out.push(`${prefix}-${i}`);
  return out;
}
