import { describe, expect, it } from 'vitest';
import { explainTail } from '../src/fleet/supervisor.js';
import { banner } from '../src/fleet/up.js';
import { defaultFleetFile, DEFAULT_FLEET_SOURCE, parseFleet } from '../src/fleet-file.js';
import { ordinalFromPodName } from '../src/ordinal.js';

describe('operator messages', () => {
  it("quote a failed process's human lines and error-level log messages, without stacks", () => {
    const fatal = JSON.stringify({ level: 60, msg: 'start failed', err: { message: 'tso shard 5 is locked', code: 'SHARD_LOCKED', stack: 'at x' } });
    const info = JSON.stringify({ level: 30, msg: 'opening shards' });
    expect(explainTail([info, fatal, 'pharaoh tso: start failed: tso shard 5 is locked [SHARD_LOCKED]'])).toEqual([
      'start failed: tso shard 5 is locked [SHARD_LOCKED]',
      'pharaoh tso: start failed: tso shard 5 is locked [SHARD_LOCKED]',
    ]);
    expect(explainTail([info])).toEqual([info]);
  });

  it('tell the operator how to call the default fleet once it is up', () => {
    const text = banner(parseFleet(defaultFleetFile(), { source: DEFAULT_FLEET_SOURCE, baseDir: '/srv' }), false);
    expect(text).toContain('ws://127.0.0.1:7100');
    expect(text).toContain('npx pharaoh ts ');
    expect(text).toContain('npx pharaoh fleet status ');
    expect(text).toContain('Ctrl-C');
    expect(text).not.toContain('--fleet');
  });

  it('read the ordinal at the end of a StatefulSet pod name', () => {
    expect(ordinalFromPodName('session-mgr-12')).toBe(12);
    expect(() => ordinalFromPodName('tso')).toThrow(/does not end in -<ordinal>/);
  });
});
