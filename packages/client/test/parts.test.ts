import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CODES } from '@pharaoh/protocol';
import { describe, expect, it } from 'vitest';
import { Deadlines } from '../src/deadlines.js';
import {
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_TIMEOUT_MS,
  FleetConfigError,
  FleetConflictError,
  InvalidArgumentError,
  InternalServerError,
  NotOwnerError,
  PharaohClient,
  ServerError,
  backoffDelay,
  fromWireError,
  isRetryable,
  loadFleetFile,
  parseClientOptions,
} from '../src/index.js';
import { StatusHub, STATUS_BUFFER } from '../src/status.js';
import { ManualClock } from './fakes.js';

describe('errors', () => {
  it('maps every wire error code to a typed error carrying that code', () => {
    for (const code of Object.values(ERROR_CODES)) {
      const err = fromWireError({ code, message: 'm', shards: [[0, 1]] }, 'ws://x');
      expect(err).toBeInstanceOf(ServerError);
      expect(err.code).toBe(code);
      expect(err.endpoint).toBe('ws://x');
      expect(err.name).not.toBe('ServerError');
    }
    const notOwner = fromWireError({ code: 'NOT_OWNER', message: 'no', shards: [[0, 511]], shard: 700 });
    expect(notOwner).toBeInstanceOf(NotOwnerError);
    expect(notOwner.details).toEqual({ shards: [[0, 511]], shard: 700 });
  });

  it('turns an unknown wire code into INTERNAL without losing it', () => {
    const err = fromWireError({ code: 'WHAT', message: 'huh' });
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err.message).toContain('WHAT');
  });

  it('retries only codes where sending again is safe', () => {
    const retry = ['NOT_OWNER', 'SHARD_UNAVAILABLE', 'OVERLOADED', 'SHUTTING_DOWN'];
    for (const code of Object.values(ERROR_CODES)) {
      expect(isRetryable(fromWireError({ code, message: '' }))).toBe(retry.includes(code));
    }
  });
});

describe('options', () => {
  it('fills in the exported defaults', () => {
    const o = parseClientOptions();
    expect(o.timeoutMs).toBe(DEFAULT_TIMEOUT_MS);
    expect(o.batchWindowMs).toBe(DEFAULT_BATCH_WINDOW_MS);
    expect(o.policy).toBe('sticky');
  });

  it('refuses bad options naming the option', () => {
    expect(() => parseClientOptions({ timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(() => parseClientOptions({ policy: 'random' as never })).toThrow(InvalidArgumentError);
    expect(() => parseClientOptions({ reconnect: { jitter: 2 } })).toThrow(/reconnect\.jitter/);
    expect(() => parseClientOptions({ reconnect: { initialMs: 500, maxMs: 100 } })).toThrow(/maxMs/);
  });

  it('computes backoff delays that double, cap at maxMs and never exceed the un-jittered delay', () => {
    const r = { initialMs: 100, maxMs: 2_000, jitter: 0.3 };
    expect([0, 1, 2, 3, 4, 5, 40].map((a) => backoffDelay(a, r, () => 0))).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    for (let a = 0; a < 10; a++) {
      const d = backoffDelay(a, r, Math.random);
      const full = Math.min(2_000, 100 * 2 ** a);
      expect(d).toBeLessThanOrEqual(full);
      expect(d).toBeGreaterThanOrEqual(Math.floor(full * 0.7));
    }
  });
});

describe('fleet file', () => {
  function write(json: unknown): string {
    const dir = mkdtempSync(join(tmpdir(), 'pharaoh-fleet-'));
    const path = join(dir, 'fleet.json');
    writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
    return path;
  }

  it('reads services, endpoints and shards, ignoring extra fields', async () => {
    const path = write({
      name: 'local',
      services: {
        tso: [{ endpoint: 'ws://127.0.0.1:7100', shards: '0-1023', http: 'http://127.0.0.1:7101', data: './data' }],
        txcoord: [{ endpoint: 'ws://127.0.0.1:7200', shards: [[0, 1023]] }],
      },
    });
    const fleet = await loadFleetFile(path);
    expect(fleet.services.tso![0]!.endpoint).toBe('ws://127.0.0.1:7100');
  });

  it('refuses two endpoints claiming one shard of a service, naming both', async () => {
    const path = write({
      services: {
        tso: [
          { endpoint: 'ws://h1:7100', shards: '0-600' },
          { endpoint: 'ws://h2:7100', shards: '512-1023' },
        ],
      },
    });
    const err = (await loadFleetFile(path).catch((e: unknown) => e)) as FleetConflictError;
    expect(err).toBeInstanceOf(FleetConflictError);
    expect(err.message).toBe('fleet refused: ws://h1:7100 and ws://h2:7100 both claim shard 512 of service tso');
    await expect(PharaohClient.connect({ fleet: path }, { clock: new ManualClock() })).rejects.toBeInstanceOf(FleetConflictError);
  });

  it('refuses unreadable, malformed or nonsensical files with a clear message', async () => {
    await expect(loadFleetFile('/nonexistent/fleet.json')).rejects.toThrow(/cannot read fleet file/);
    await expect(loadFleetFile(write('{nope'))).rejects.toThrow(/not valid JSON/);
    await expect(loadFleetFile(write({ services: { redis: [] } }))).rejects.toThrow(/unknown service "redis"/);
    await expect(loadFleetFile(write({ services: { tso: [{ endpoint: 'http://x' }] } }))).rejects.toThrow(FleetConfigError);
    await expect(loadFleetFile(write({ services: { tso: [{ endpoint: 'ws://x', shards: '9-2000' }] } }))).rejects.toThrow(/bad shards/);
  });
});

describe('deadlines', () => {
  it('expires unfinished entries after the timeout with one timer, and skips finished ones', async () => {
    const clock = new ManualClock();
    const d = new Deadlines(clock, 100);
    const expired: string[] = [];
    const mk = (name: string) => ({ done: false, deadline: 0, expire: () => expired.push(name) });
    const a = mk('a');
    const b = mk('b');
    d.add(a);
    await clock.advance(50);
    d.add(b);
    d.add(mk('c'));
    d.finish(a);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(60);
    expect(expired).toEqual([]);
    await clock.advance(50);
    expect(expired).toEqual(['b', 'c']);
    expect(d.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stays short when entries finish in order', () => {
    const d = new Deadlines(new ManualClock(), 1_000);
    for (let i = 0; i < 10_000; i++) {
      const e = { done: false, deadline: 0, expire: () => {} };
      d.add(e);
      d.finish(e);
    }
    expect(d.size).toBe(0);
  });
});

describe('status events', () => {
  it('delivers to listeners and iterators, buffers a bounded number, and ends iterators on close', async () => {
    const hub = new StatusHub();
    const seen: string[] = [];
    const off = hub.on((e) => seen.push(e.endpoint));
    const it1 = hub.iterator();
    for (let i = 0; i < STATUS_BUFFER + 10; i++) hub.emit({ type: 'disconnect', endpoint: `e${i}`, service: 'tso', error: 'x' });
    off();
    hub.emit({ type: 'disconnect', endpoint: 'late', service: 'tso', error: 'x' });
    hub.end();
    const got: string[] = [];
    for await (const e of it1) got.push(e.endpoint);
    expect(seen).toHaveLength(STATUS_BUFFER + 10);
    expect(got).toHaveLength(STATUS_BUFFER);
    expect(got.at(-1)).toBe('late');
  });
});
