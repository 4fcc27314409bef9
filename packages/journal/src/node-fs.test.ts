import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, JournalErrorCode } from './index.js';
import { memoryLogger } from './test-util.js';

interface Rec {
  tx: bigint;
  decision: 'COMMITTED' | 'ABORTED';
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pharaoh-journal-'));
  dirs.push(d);
  return join(d, 'txcoord', 'shard-2');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(dir: string, state: Rec[] = [], logger = memoryLogger()) {
  const replayed: Rec[] = [];
  const journal = await Journal.open<Rec>(dir, { onRecord: (r) => replayed.push(r), snapshot: () => state, logger });
  return { journal, replayed, logger };
}

const rec = (i: number): Rec => ({ tx: 0xffff_0000_0000_0000n + BigInt(i), decision: i % 2 ? 'COMMITTED' : 'ABORTED' });

describe('on a real disk', () => {
  it('appends concurrently, replays in order after reopen, and cuts a torn tail', async () => {
    const dir = tmp();
    const a = await open(dir);
    await Promise.all(Array.from({ length: 300 }, (_, i) => a.journal.append(rec(i))));
    expect(a.journal.stats.syncs).toBeLessThan(300);
    const size = a.journal.sizeBytes;
    await a.journal.close();
    expect(statSync(join(dir, 'journal.log')).size).toBe(size);

    appendFileSync(join(dir, 'journal.log'), Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    const b = await open(dir);
    expect(b.replayed).toEqual(Array.from({ length: 300 }, (_, i) => rec(i)));
    expect(b.journal.stats.truncatedBytes).toBe(10);
    expect(b.logger.lines.find((l) => l.level === 'warn')?.obj).toMatchObject({ truncatedBytes: 10, reason: 'torn-payload' });
    expect(statSync(join(dir, 'journal.log')).size).toBe(size);
    await b.journal.close();
  });

  it('refuses a second opener of the same directory (exclusive OS lock)', async () => {
    const dir = tmp();
    const a = await open(dir);
    await expect(open(dir)).rejects.toMatchObject({ code: JournalErrorCode.LOCKED });
    await a.journal.close();
    const b = await open(dir);
    await b.journal.close();
  });

  it('compacts by rename over the log and leaves no temporary file behind', async () => {
    const dir = tmp();
    const state = [rec(1), rec(2)];
    const a = await open(dir, state);
    for (let i = 0; i < 100; i++) await a.journal.append(rec(i));
    await a.journal.compact();
    await a.journal.append(rec(500));
    await a.journal.close();
    expect(readdirSync(dir).sort()).toEqual(['journal.lock', 'journal.log']);
    const b = await open(dir);
    expect(b.replayed).toEqual([rec(1), rec(2), rec(500)]);
    await b.journal.close();
  });

  it('refuses a missing journal when it must exist, creating nothing', async () => {
    const dir = tmp();
    const opening = Journal.open(dir, { onRecord: () => {}, snapshot: () => [], mustExist: true });
    await expect(opening).rejects.toMatchObject({ code: JournalErrorCode.MISSING });
    expect(existsSync(dir)).toBe(false);
    const a = await open(dir);
    await a.journal.append(rec(1));
    await a.journal.close();
    const b = await Journal.open<Rec>(dir, { onRecord: () => {}, snapshot: () => [], mustExist: true });
    await b.close();
  });
});
