import { describe, expect, it } from 'vitest';
import { ensureDirDurable, readAll } from '../src/index.js';
import { SimulatedFs, exploreSchedules } from '../src/testing.js';

const text = (b: Buffer | undefined): string | undefined => b?.toString('utf8');

/** Outcomes of the same setup over many seeds: which final states a power loss produced. */
async function outcomes(seeds: number, setup: (fs: SimulatedFs) => Promise<void>, read: (fs: SimulatedFs) => string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let seed = 1; seed <= seeds; seed++) {
    const fs = new SimulatedFs({ seed, dirs: ['/d'] });
    await setup(fs);
    fs.powerLoss();
    seen.add(read(fs));
  }
  return seen;
}

describe('SimulatedFs: process death', () => {
  it('keeps unsynced sizes, bytes and directory entries (the page cache survives)', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'] });
    const h = await fs.open('/d/f', { create: true });
    await h.write(Buffer.from('hello'), 0);
    await h.truncate(1000);
    await fs.mkdir('/d/sub');
    fs.killProcess();
    expect(fs.sizeOf('/d/f')).toBe(1000);
    expect(text(fs.contents('/d/f'))?.slice(0, 5)).toBe('hello');
    expect(fs.exists('/d/sub')).toBe(true);
  });

  it('kills every handle and releases every lock', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'] });
    const view = fs.forProcess();
    const h = await view.open('/d/f', { create: true });
    expect(await h.tryLock()).toBe(true);
    const other = await fs.open('/d/f');
    expect(await other.tryLock()).toBe(false);
    fs.killProcess();
    await expect(h.size()).rejects.toMatchObject({ code: 'EBADF' });
    await expect(view.stat('/d/f')).rejects.toMatchObject({ code: 'EBADF' });
    const next = await fs.open('/d/f');
    expect(await next.tryLock()).toBe(true);
  });

  it('lets no operation in flight at the death take effect', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'] });
    const h = await fs.open('/d/f', { create: true });
    const release = fs.hold('truncate');
    const pending = h.truncate(50);
    fs.killProcess();
    release();
    await expect(pending).rejects.toMatchObject({ code: 'EBADF' });
    expect(fs.sizeOf('/d/f')).toBe(0);
  });
});

describe('SimulatedFs: power loss', () => {
  it('keeps exactly what datasync and syncDir covered', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'] });
    const h = await fs.open('/d/f', { create: true });
    await fs.syncDir('/d');
    await h.write(Buffer.from('durable'), 0);
    await h.datasync();
    fs.powerLoss();
    expect(text(fs.contents('/d/f'))).toBe('durable');
    expect(fs.list('/d')).toEqual(['f']);
  });

  it('keeps everything written before a syncAll (syncfs): new dirs, files, bytes and sizes', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimulatedFs({ seed, dirs: ['/d'] });
      await fs.mkdir('/d/a');
      const h = await fs.open('/d/a/f', { create: true });
      await h.write(Buffer.from('kept'), 0);
      const b = await fs.open('/d/a/bound', { create: true });
      await b.truncate(1000);
      expect(await fs.syncAll('/d')).toBe(true);
      await h.write(Buffer.from('LOST'), 0); // after the syncAll: may or may not survive
      await fs.mkdir('/d/late');
      fs.powerLoss();
      expect(fs.list('/d/a')).toEqual(['bound', 'f']);
      expect(['kept', 'LOST', '\0\0\0\0']).toContain(text(fs.contents('/d/a/f'))?.slice(0, 4));
      expect(fs.sizeOf('/d/a/bound')).toBe(1000);
    }
  });

  it('loses what was not synced when no syncAll came (the check above can fail)', async () => {
    let lost = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimulatedFs({ seed, dirs: ['/d'] });
      await fs.mkdir('/d/a');
      const b = await fs.open('/d/a/bound', { create: true });
      await b.truncate(1000);
      fs.powerLoss();
      if (!fs.exists('/d/a/bound') || fs.sizeOf('/d/a/bound') !== 1000) lost++;
    }
    expect(lost).toBeGreaterThan(0);
  });

  it('lands an unsynced size anywhere between the durable and the latest size', async () => {
    const sizes = await outcomes(
      60,
      async (fs) => {
        const h = await fs.open('/d/c', { create: true });
        await fs.syncDir('/d');
        await h.truncate(10);
        await h.datasync();
        await h.truncate(20);
      },
      (fs) => String(fs.sizeOf('/d/c')),
    );
    expect(sizes.has('10')).toBe(true);
    expect(sizes.has('20')).toBe(true);
    expect([...sizes].some((s) => Number(s) > 10 && Number(s) < 20)).toBe(true);
    expect([...sizes].every((s) => Number(s) >= 10 && Number(s) <= 20)).toBe(true);
  });

  it('reads unsynced bytes as old, new or zero, and never touches synced unchanged bytes', async () => {
    const seen = await outcomes(
      80,
      async (fs) => {
        const h = await fs.open('/d/f', { create: true });
        await fs.syncDir('/d');
        await h.write(Buffer.from('AAAABBBB'), 0);
        await h.datasync();
        await h.write(Buffer.from('CCCC'), 4);
      },
      (fs) => fs.contents('/d/f')!.toString('latin1'),
    );
    for (const s of seen) expect(s.slice(0, 4)).toBe('AAAA');
    const tails = new Set([...seen].map((s) => s.slice(4)));
    expect(tails.has('BBBB')).toBe(true);
    expect(tails.has('CCCC')).toBe(true);
    expect([...tails].some((t) => t.includes('\0'))).toBe(true);
  });

  it('keeps or drops each unsynced directory operation independently', async () => {
    const seen = await outcomes(
      60,
      async (fs) => {
        for (const n of ['a', 'b']) await fs.open(`/d/${n}`, { create: true });
      },
      (fs) => fs.list('/d').join(','),
    );
    expect(seen).toEqual(new Set(['', 'a', 'b', 'a,b']));
  });

  it('loses a new directory with its synced contents when its parent was not synced', async () => {
    const seen = await outcomes(
      40,
      async (fs) => {
        await fs.mkdir('/d/j');
        const h = await fs.open('/d/j/log', { create: true });
        await h.write(Buffer.from('x'), 0);
        await h.datasync();
        await fs.syncDir('/d/j');
      },
      (fs) => String(fs.exists('/d/j/log')),
    );
    expect(seen).toEqual(new Set(['true', 'false']));
    const kept = await outcomes(
      20,
      async (fs) => {
        await ensureDirDurable(fs, '/d/j');
        const h = await fs.open('/d/j/log', { create: true });
        await h.datasync();
        await fs.syncDir('/d/j');
      },
      (fs) => String(fs.exists('/d/j/log')),
    );
    expect(kept).toEqual(new Set(['true']));
  });

  it('makes a rename atomic: after a power loss the name holds the old or the new file, whole', async () => {
    const seen = await outcomes(
      60,
      async (fs) => {
        fs.setFile('/d/log', 'old');
        const t = await fs.open('/d/log.tmp', { create: true });
        await t.write(Buffer.from('new'), 0);
        await t.datasync();
        await fs.rename('/d/log.tmp', '/d/log');
      },
      (fs) => text(fs.contents('/d/log')) ?? 'missing',
    );
    expect(seen).toEqual(new Set(['old', 'new']));
  });

  it('shows a crash after a process death what the second process left unsynced (crash then cut)', async () => {
    const seen = await outcomes(
      60,
      async (fs) => {
        const h = await fs.open('/d/f', { create: true });
        await fs.syncDir('/d');
        await h.write(Buffer.from('acked?'), 0);
        fs.killProcess();
        // The next process reads the unsynced bytes from the page cache...
        const again = await fs.open('/d/f');
        expect((await readAll(again)).toString()).toBe('acked?');
      },
      (fs) => String(fs.sizeOf('/d/f')),
    );
    // ...and a power loss can still take them away.
    expect(seen.has('0')).toBe(true);
  });

  it('is reproducible from its seed', async () => {
    const run = async (): Promise<string> => {
      const fs = new SimulatedFs({ seed: 99, dirs: ['/d'] });
      const h = await fs.open('/d/f', { create: true });
      await h.write(Buffer.from('0123456789'.repeat(50)), 0);
      await fs.mkdir('/d/x');
      fs.powerLoss();
      return `${fs.list('/d').join(',')}|${fs.contents('/d/f')?.toString('hex') ?? ''}`;
    };
    expect(await run()).toBe(await run());
  });
});

describe('SimulatedFs: file semantics', () => {
  it('needs the parent directory to exist, refuses opening a directory, reports stat', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'] });
    await expect(fs.open('/nope/f', { create: true })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.open('/d')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.open('/d/missing')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.stat('/d')).toEqual({ size: 4096, isDirectory: true });
    expect(await fs.stat('/d/missing')).toBeUndefined();
    expect(await fs.mkdir('/d')).toBe(false);
    await fs.open('/d/f', { create: true });
    await expect(fs.mkdir('/d/f')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.unlink('/d/none')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('grows files sparsely: a huge size costs no memory and reads zeros', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'] });
    const h = await fs.open('/d/c', { create: true });
    await fs.syncDir('/d');
    await h.truncate(2 ** 44);
    await h.datasync();
    fs.powerLoss();
    expect(fs.sizeOf('/d/c')).toBe(2 ** 44);
    const buf = Buffer.alloc(4, 7);
    const again = await fs.open('/d/c');
    expect(await again.read(buf, 4, 2 ** 40)).toBe(4);
    expect([...buf]).toEqual([0, 0, 0, 0]);
  });

  it('injects faults by operation and path, and fails growth past maxFileSize with EFBIG', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'], maxFileSize: 100 });
    const h = await fs.open('/d/f', { create: true });
    await expect(h.truncate(101)).rejects.toMatchObject({ code: 'EFBIG' });
    fs.injectFault({ op: 'datasync', code: 'EIO', path: '/d/f' });
    await expect(h.datasync()).rejects.toMatchObject({ code: 'EIO' });
    await h.datasync();
    fs.injectFault({ op: 'write', code: 'ENOSPC' });
    await expect(h.write(Buffer.from('abcd'), 0)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(text(fs.contents('/d/f'))).toBe('ab');
  });

  it('takes a scheduled crash at the named operation, which then fails', async () => {
    const fs = new SimulatedFs({ dirs: ['/d'] });
    const view = fs.forProcess();
    const h = await view.open('/d/f', { create: true });
    fs.crashAfterOps(2, 'power');
    await h.truncate(5);
    await expect(h.datasync()).rejects.toMatchObject({ code: 'EBADF' });
    expect(fs.stats.powerLosses).toBe(1);
    expect(fs.exists('/d/f')).toBe(fs.list('/d').includes('f'));
  });
});

describe('exploreSchedules', () => {
  it('runs every schedule with its chain of faults and names the seed that breaks an invariant', async () => {
    const chains = new Set<string>();
    const report = await exploreSchedules({
      schedules: 30,
      async run(s) {
        chains.add(s.chain.join('>'));
        for (const kind of s.chain) {
          if (kind === 'power') s.fs.powerLoss();
          else s.fs.killProcess();
        }
      },
    });
    expect(report.schedules).toBe(30);
    expect(chains.has('process>power')).toBe(true);
    expect(chains.has('process>process>power')).toBe(true);
    expect(report.powerLosses).toBeGreaterThan(0);
    await expect(
      exploreSchedules({
        schedules: 10,
        async run(s) {
          if (s.seed === 7) throw new Error('boom');
        },
      }),
    ).rejects.toThrow(/seed 7 .*boom[\s\S]*PHARAOH_CRASH_SEED=7/);
  });
});
