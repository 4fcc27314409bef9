/**
 * Storage bugs found while porting the journal onto this package, each with
 * the test that failed before its fix.
 */
import { describe, expect, it } from 'vitest';
import { ensureDirDurable } from '../src/index.js';
import { SimulatedFs } from '../src/testing.js';

describe('ensureDirDurable after a process death (found by the journal)', () => {
  it('makes durable a directory that a killed process created but whose parent it never synced', async () => {
    // Before the fix, ensureDirDurable found the directory, did nothing, and a
    // power cut took it (and a journal created in it) away in about half the seeds.
    for (let seed = 1; seed <= 40; seed++) {
      const fs = new SimulatedFs({ seed, dirs: ['/data/shard'] });
      await fs.mkdir('/data/shard/journal'); // the dead process's mkdir; its parent fsync never ran
      fs.killProcess();
      expect(await ensureDirDurable(fs, '/data/shard/journal')).toBe(false);
      fs.powerLoss();
      expect(fs.exists('/data/shard/journal'), `seed ${seed}`).toBe(true);
    }
  });

  it('makes durable the deepest existing level before creating the levels below it', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const fs = new SimulatedFs({ seed, dirs: ['/data'] });
      await fs.mkdir('/data/a'); // left unsynced by a killed process
      fs.killProcess();
      expect(await ensureDirDurable(fs, '/data/a/b/c')).toBe(true);
      fs.powerLoss();
      expect(fs.exists('/data/a/b/c'), `seed ${seed}`).toBe(true);
    }
  });
});
