/**
 * ServiceDefinition.releaseShard: a graceful move's release calls it instead
 * of closeShard (a stop still calls closeShard), before the `released` mark;
 * a rejection makes the release inexact (no mark: the next holder resumes as
 * after a crash). A definition without it is released as before.
 */
import { describe, expect, it } from 'vitest';
import { TSO } from '@pharaoh/registry';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { openTestProcess } from '../src/testing.js';
import type { ServiceDefinition } from '../src/types.js';

const DATA = '/data';

function service(calls: string[], failRelease = false, withHook = true): ServiceDefinition<typeof TSO, { n: number }> {
  return {
    spec: TSO,
    openShard: async (ctx) => ({ n: ctx.id }),
    closeShard: async (s) => {
      calls.push(`close ${s.n}`);
    },
    ...(withHook
      ? {
          releaseShard: async (s: { n: number }, ctx: { fs: { stat(p: string): Promise<unknown> }; dir: string }) => {
            // The mark is written after the hook resolved.
            calls.push(`release ${s.n} mark=${(await ctx.fs.stat(`${ctx.dir}/released`)) !== undefined}`);
            if (failRelease) throw new Error('disk full');
          },
        }
      : {}),
    handlers: { 'ts.get': (a, shard) => shard.generator.nextRange(a.count, a.after) },
  };
}

describe('releaseShard', () => {
  it('is called by a release instead of closeShard, before the released mark; a stop calls closeShard', async () => {
    const fs = new SimulatedFs({ seed: 1, dirs: [DATA] });
    const calls: string[] = [];
    const p = await openTestProcess(service(calls), { fs: fs.forProcess(), dataDir: DATA, shards: [1, 2] });
    const r = (await p.move('admin.shards.release', { shards: '1' })) as { carried: boolean };
    expect(r.carried).toBe(true);
    expect(fs.exists(`${DATA}/tso/shard-1/released`)).toBe(true);
    await p.close();
    expect(calls).toEqual(['release 1 mark=false', 'close 2']);
  });

  it('a rejected releaseShard leaves no mark (the release is inexact: the claim resumes as after a crash)', async () => {
    const fs = new SimulatedFs({ seed: 2, dirs: [DATA] });
    const calls: string[] = [];
    const p = await openTestProcess(service(calls, true), { fs: fs.forProcess(), dataDir: DATA, shards: [1] });
    const r = (await p.move('admin.shards.release', { shards: '1' })) as { carried: boolean };
    expect(r.carried).toBe(false);
    expect(fs.exists(`${DATA}/tso/shard-1/released`)).toBe(false);
    const q = await openTestProcess(service([]), { fs: fs.forProcess(), dataDir: DATA, shards: [2] });
    await q.move('admin.shards.claim', { shards: '1' });
    expect(q.hosted()).toEqual([1, 2]);
    await Promise.all([p.close(), q.close()]);
  });

  it('without it, a release closes the app state with closeShard, as before', async () => {
    const fs = new SimulatedFs({ seed: 3, dirs: [DATA] });
    const calls: string[] = [];
    const p = await openTestProcess(service(calls, false, false), { fs: fs.forProcess(), dataDir: DATA, shards: [1] });
    expect(((await p.move('admin.shards.release', { shards: '1' })) as { carried: boolean }).carried).toBe(true);
    expect(calls).toEqual(['close 1']);
    await p.close();
  });
});
