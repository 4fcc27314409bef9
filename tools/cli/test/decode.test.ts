import { describe, expect, it } from 'vitest';
import { SESSION_LAYOUT, TSO_LAYOUT, TX_LAYOUT } from '@pharaoh/snowflake';
import { FUTURE_SLACK_MS, decodeAll, decodedJson, formatDecoded, guessLayout, parseId, parseLayout } from '../src/decode.js';

// A fixed "now" for every test: 2026-12-03T12:00:00Z.
const NOW = Date.UTC(2026, 11, 3, 12);
const DAY = 86_400_000;
/** An ID of `layout` issued at `ms` (wall clock), shard 5, seq 7. */
const idAt = (layout: typeof TSO_LAYOUT, ms: number) => layout.encode({ time: layout.unitAt(ms), shard: 5, seq: 7 });

describe('pharaoh decode', () => {
  it('prints one block for the likely layout, naming it and why', () => {
    const id = idAt(TSO_LAYOUT, NOW - 2 * DAY);
    const txDate = TX_LAYOUT.decode(id).date.toISOString();
    expect(formatDecoded(id, { now: NOW })).toBe(
      [
        `id      ${id} (0x${id.toString(16).padStart(16, '0')})`,
        `layout  likely tso or cdc: its date is the one nearest to now; as tx or session or group or schema it would date from ${txDate}, in the future (choose with --layout)`,
        'bits    time 41 | shard 10 | seq 13',
        'date    2026-12-01T12:00:00.000Z (UTC, 2 days ago)',
        `time    ${TSO_LAYOUT.unitAt(NOW - 2 * DAY)} ms since 2025-01-01T00:00:00.000Z`,
        'shard   5',
        'seq     7 (of 0..8191 in its millisecond)',
      ].join('\n'),
    );
  });

  it('reads the ID under the layout asked for with --layout (service names too)', () => {
    const id = idAt(TX_LAYOUT, NOW - 3_600_000);
    for (const name of ['tx', 'txcoord', 'TX']) expect(parseLayout(name)).toBe(TX_LAYOUT);
    expect(parseLayout('session-mgr')).toBe(SESSION_LAYOUT);
    const text = formatDecoded(id, { layout: TX_LAYOUT, now: NOW });
    expect(text).toContain('layout  tx (as asked)');
    expect(text).toContain('date    2026-12-03T11:00:00.000Z (UTC, 60 min ago)');
    expect(text).toMatch(/^shard {3}5$/m);
    expect(text).toContain('seq     7 (of 0..4095 in its millisecond)');
    expect(() => parseLayout('snowflake')).toThrow('unknown layout "snowflake": expected one of tso, tx, txcoord, session, session-mgr, group, group-coord');
  });

  it('guesses tso or cdc (one shape) for recent tso IDs and tx/session/schema for tx IDs (one shape), old or new', () => {
    // The CDC layout has the TSO's bits and epoch: a TSO-shaped ID reads the same under both.
    for (const age of [0, 10 * DAY, 200 * DAY]) expect(guessLayout(idAt(TSO_LAYOUT, NOW - age), NOW).layouts).toEqual(['tso', 'cdc']);
    for (const age of [0, 10 * DAY, 600 * DAY]) expect(guessLayout(idAt(TX_LAYOUT, NOW - age), NOW).layouts).toEqual(['tx', 'session', 'group', 'schema']);
    // An ID a TSO handed out a little ahead of this clock (its lead) is still plausible.
    expect(guessLayout(idAt(TSO_LAYOUT, NOW + 5_000), NOW).layouts).toEqual(['tso', 'cdc']);
  });

  it('says so when no layout gives a date up to now', () => {
    const g = guessLayout(idAt(TSO_LAYOUT, NOW + FUTURE_SLACK_MS + DAY), NOW);
    expect(g.layouts).toEqual([]);
    expect(g.why).toMatch(/every layout reads a date in the future/);
    expect(formatDecoded(idAt(TSO_LAYOUT, NOW + 2 * DAY), { now: NOW })).toMatch(/^layout {2}tso\? every layout reads a date in the future/m);
  });

  it('gives every reading, the likely layout and the reason in JSON', () => {
    const id = idAt(TSO_LAYOUT, NOW);
    const j = decodedJson(id, { now: NOW });
    expect(j).toMatchObject({ id: id.toString(), hex: `0x${id.toString(16).padStart(16, '0')}`, likely: ['tso', 'cdc'] });
    expect(j.layouts).toEqual(decodeAll(id));
    expect(decodedJson(id, { layout: TX_LAYOUT, now: NOW })).toMatchObject({ layout: { layout: 'tx', shard: TX_LAYOUT.shardOf(id) } });
  });

  it('agrees with the layouts it decodes with', () => {
    const id = TX_LAYOUT.encode({ time: 123_456_789, shard: 1023, seq: 4095 });
    const tx = decodeAll(id).find((r) => r.layout === 'tx')!;
    expect([tx.time, tx.shard, tx.seq]).toEqual([123_456_789, 1023, 4095]);
  });

  it('parses the full unsigned 64-bit range exactly, in decimal or 0x hex', () => {
    expect(parseId('0')).toBe(0n);
    expect(parseId('18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseId(' 9007199254740993 ')).toBe(9007199254740993n);
    expect(parseId('0x06fba5ba150ea000')).toBe(503178002017722368n);
    expect(parseId('0XFFFFFFFFFFFFFFFF')).toBe(2n ** 64n - 1n);
  });

  it('refuses junk and out-of-range IDs with a clear message', () => {
    expect(() => parseId('18446744073709551616')).toThrow(/out of range.*18446744073709551615/);
    for (const junk of ['', '-1', '1.5', '0x', '0x1g', '0x10000000000000000', '12abc', '1e9']) {
      expect(() => parseId(junk), junk).toThrow(/is not an unsigned 64-bit integer: write it in decimal .* or hex with 0x/);
    }
  });
});
