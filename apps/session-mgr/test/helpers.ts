/** Shared by the SessionTable tests (a test file must not import another: its tests would run twice). */
import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT } from '@pharaoh/snowflake';
import { secondsSince } from '../src/epochs.js';

/** Producer names that hash to `shard` (found by counting up; the hash is fixed by the protocol). */
export function namesFor(shard: number, n: number, prefix = 'producer'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 10_000_000; i++) if (shardForKey(`${prefix}-${i}`) === shard) out.push(`${prefix}-${i}`);
  return out;
}

/** The clock's reading as an epoch: whole seconds since the SESSION layout's epoch. */
export const secOf = (clock: { now(): number }): number => secondsSince(SESSION_LAYOUT, clock.now());
