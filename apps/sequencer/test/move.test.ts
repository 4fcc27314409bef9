/**
 * The idempotency tokens of offsets.assign across a shard move (the host's
 * release → claim → forward, packages/server/src/moves.ts) on the crash
 * simulator: the tokens live in the shard's journal, which goes with the
 * shard, so a client that lost an answer on the source and retries on the
 * target (after NOT_OWNER with movedTo) gets the same range there.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { openTestProcess, type TestProcess } from '@pharaoh/server/testing';
import { codeOf } from '@pharaoh/testkit';
import { sequencerService, type SequencerShard } from '../src/service.js';
import type { SequencerOptions } from '../src/options.js';
import { keysFor } from './helpers.js';

const DATA = '/data';
const MOVED = 1;
const T0 = Date.UTC(2026, 11, 3);
const [P] = keysFor(MOVED, 1) as [string];

type Proc = TestProcess<SequencerShard, SequencerOptions>;

function open(fs: SimulatedFs, shards: number[]): Promise<Proc> {
  return openTestProcess(sequencerService, { fs: fs.forProcess(), dataDir: DATA, shards, clock: { now: () => T0 } }) as Promise<Proc>;
}

const assign = async (p: Proc, count: number, producerId?: number, seq?: number) =>
  sequencerService.handlers['offsets.assign']({ shard: MOVED, partition: P, count, ...(producerId === undefined ? {} : { producerId, seq }) }, p.handle(MOVED)!);

describe('offsets.assign tokens across a shard move', () => {
  it('a retry on the target after the move gets the range the source answered; an older seq stays refused', async () => {
    const fs = new SimulatedFs({ seed: 1, dirs: [DATA] });
    const dst = await open(fs, [2]);
    const src = await open(fs, [0, MOVED]);
    expect(await assign(src, 4)).toEqual({ first: 0, count: 4 });
    expect(await assign(src, 3, 5, 1)).toEqual({ first: 4, count: 3 });
    // seq 2's answer is lost on its way to the client; then the shard moves.
    expect(await assign(src, 6, 5, 2)).toEqual({ first: 7, count: 6 });
    await src.move('admin.shards.release', { shards: String(MOVED) });
    await dst.move('admin.shards.claim', { shards: String(MOVED) });
    await src.move('admin.shards.forward', { shards: String(MOVED), to: 'ws://127.0.0.1:7600' });
    expect(src.handle(MOVED)).toBeUndefined();
    expect(await assign(dst, 6, 5, 2)).toEqual({ first: 7, count: 6 });
    expect(await codeOf(assign(dst, 3, 5, 1))).toBe('OFFSETS_STALE_SEQ');
    expect(await assign(dst, 1, 5, 3)).toEqual({ first: 13, count: 1 });
    expect(await assign(dst, 1)).toEqual({ first: 14, count: 1 });
    await dst.close();
    await src.close();
  });
});
