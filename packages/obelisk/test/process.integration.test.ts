import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '@pharaoh/storage/testing';
import { Obelisk } from '../src/index.js';
import { ReleasedLedger, rejectionCode } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/counter-child.ts', import.meta.url));
const ROUNDS = 10;

let dir: string;
const children = new Set<ChildProcess>();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obelisk-proc-'));
});
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  /** Complete lines printed so far. */
  lines: string[];
  exited: Promise<void>;
  waitForLine(pred: (l: string) => boolean, ms?: number): Promise<string>;
}

/** One node process (not the tsx CLI, which would fork a second one we could not SIGKILL). */
function startChild(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  const lines: string[] = [];
  let partial = '';
  const listeners = new Set<() => void>();
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!; // an unterminated tail may be a value cut by SIGKILL: never count it
    lines.push(...parts);
    for (const l of listeners) l();
  });
  const exited = new Promise<void>((r) => proc.on('close', () => r()));
  const waitForLine = (pred: (l: string) => boolean, ms = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child printed no matching line in ${ms} ms: ${lines.slice(-3).join('|')}`)), ms);
      const check = () => {
        const hit = lines.find(pred);
        if (hit !== undefined) {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(hit);
        }
      };
      listeners.add(check);
      proc.on('close', () => setTimeout(check, 0));
      check();
    });
  return { proc, lines, exited, waitForLine };
}

async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
}

describe('ownership across processes', () => {
  it('refuses a counter owned by another process with LOCKED, and the kernel frees it when the owner is SIGKILLed', async () => {
    const path = join(dir, 'owned');
    const holder = startChild(path, 'hold');
    await holder.waitForLine((l) => l.startsWith('ready'));
    expect(await rejectionCode(Obelisk.open(path))).toBe('LOCKED');
    await kill(holder);
    const c = await Obelisk.open(path); // no stale lock, no timeout
    const probe = startChild(path, 'try-open');
    expect(await probe.waitForLine((l) => l.length > 0)).toBe('LOCKED');
    await probe.exited;
    await c.close();
  });
});

describe('real process crash', () => {
  it('after SIGKILL at random moments the reopened counter is above every value the child released', async () => {
    const path = join(dir, 'killed');
    const rand = mulberry32(20261126);
    const ledger = new ReleasedLedger();
    let released = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const child = startChild(path, 'count', String(1 + Math.floor(rand() * 64)));
      await child.waitForLine((l) => l.startsWith('ready'));
      const linesBefore = child.lines.length;
      await new Promise((r) => setTimeout(r, 5 + Math.floor(rand() * 150)));
      await kill(child);
      for (const line of child.lines.slice(linesBefore)) ledger.issue(Number(line), `round ${round}`);
      released += child.lines.length - linesBefore;
      ledger.crashed();
      const c = await Obelisk.open(path);
      expect(c.value, `round ${round}`).toBeGreaterThanOrEqual(ledger.max);
      ledger.issue(await c.increment(), `parent after round ${round}`);
      ledger.crashed();
      await c.close();
    }
    expect(released).toBeGreaterThan(ROUNDS); // the children really counted before dying
  });
});
