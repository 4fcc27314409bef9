/**
 * The conformance vectors in docs/protocol/vectors are what test/conformance
 * generates (so they cannot drift from their source), and they cover every
 * op, every error code and every close code the server sends. The runner
 * that replays them against real servers is packages/server/test/wire.integration.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REGISTRY } from '@pharaoh/registry';
import { ERROR_CODES, HOST_OPS } from '../src/index.js';
import { loadDecodingVectors, loadExchangeVectors, VECTORS_DIR } from '../src/testing.js';
import { vectorFiles } from './conformance/generate.js';

/** Codes no request can provoke on purpose: a failed disk, a shutdown, a server bug. */
// Codes no request to a fresh server provokes: failed storage, shutdown, bugs, and a shard restored from a backup (TX_IN_DOUBT).
const NOT_FROM_REQUESTS = new Set<string>([ERROR_CODES.SHARD_UNAVAILABLE, ERROR_CODES.SHUTTING_DOWN, ERROR_CODES.INTERNAL, ERROR_CODES.TX_IN_DOUBT]);

describe('conformance vectors', () => {
  it('are exactly what test/conformance generates (run `npm run vectors -w @pharaoh/protocol` after changing a case)', () => {
    const expected = vectorFiles();
    expect(readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json')).sort()).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) expect(readFileSync(join(VECTORS_DIR, name), 'utf8'), name).toBe(text);
  });

  it('exercise every op of every service', () => {
    const seen = new Set<string>();
    for (const [, file] of loadExchangeVectors()) {
      for (const c of file.cases) {
        for (const step of c.steps) {
          const op = (step.value as { op?: unknown } | undefined)?.op;
          if (typeof op === 'string') for (const s of c.services) seen.add(`${s} ${op}`);
        }
      }
    }
    for (const s of REGISTRY.services) {
      for (const op of [...Object.keys(s.ops), ...HOST_OPS]) expect(seen.has(`${s.name} ${op}`), `${s.name} ${op}`).toBe(true);
    }
  });

  it('expect every error code a request can provoke, and every close code the server sends', () => {
    const codes = new Set<string>();
    const closes = new Set<number>();
    let http401 = false;
    for (const [, file] of loadExchangeVectors()) {
      for (const c of file.cases) {
        if (c.httpStatus === 401) http401 = true;
        for (const step of c.steps) {
          const e = step.expect;
          if ('err' in e) codes.add((e.err as { code: string }).code);
          if ('close' in e) closes.add(e.close);
        }
      }
    }
    for (const code of Object.values(ERROR_CODES)) if (!NOT_FROM_REQUESTS.has(code)) expect(codes.has(code), code).toBe(true);
    expect([...closes].sort()).toEqual([1002, 1003, 1007, 1009]);
    expect(http401).toBe(true);
  });

  it('give a client every error code, every answer and every hello to decode', () => {
    const meanings = new Set(loadDecodingVectors().frames.map((f) => f.meaning));
    for (const code of Object.values(ERROR_CODES)) expect(meanings.has(code), code).toBe(true);
    for (const m of ['hello', 'ok']) expect(meanings.has(m)).toBe(true);
  });
});
