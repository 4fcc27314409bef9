import { describe, expect, it } from 'vitest';
import { groupCoordPlugin } from '../src/chaos/services/group-coord.js';
import type { PluginEvent } from '../src/chaos/services/plugin.js';
import type { Violation } from '../src/chaos/check.js';

const at = (n: number) => ({ w: 0, s: n, r: n + 1, ls: n, lr: n + 1 });
const rj = (n: number, gen: number): PluginEvent => ({ k: 'grj', svc: 'group-coord', g: 'G', gen, ...at(n) });
const rc = (n: number, gen: number, p: number, o: number, ok: boolean): PluginEvent => ({ k: 'grc', svc: 'group-coord', g: 'G', gen, p, o, ok, stale: false, ...at(n) });

function check(events: PluginEvent[], read: Map<number, number> | string = new Map([[0, 5]])): { violations: string[]; counts: Record<string, number> } {
  const violations: Violation[] = [];
  const counts = groupCoordPlugin.check({ events, harness: [], owners: new Map(), final: new Map([['G', read]]), violations });
  return { violations: violations.map((v) => v.check), counts };
}

describe('the group-coord chaos checks', () => {
  it('pass a clean history: generations up, stale commits refused, acknowledged offsets read back', () => {
    const r = check([rj(1, 100), rc(2, 100, 0, 5, true), rj(3, 101), rc(4, 100, 0, 6, false)]);
    expect(r.violations).toEqual([]);
    expect(r.counts).toMatchObject({ groups: 1, 'generations answered': 2, 'stale commits tried': 1, 'commits acknowledged': 1 });
  });

  it('report a generation answered below an earlier one', () => {
    expect(check([rj(1, 101), rj(2, 100)]).violations).toEqual(['group-generation']);
  });

  it('report a commit accepted for a generation older than one answered before it', () => {
    expect(check([rj(1, 100), rj(2, 101), rc(3, 100, 0, 5, true)]).violations).toEqual(['group-fenced']);
  });

  it('report an acknowledged commit the fleet does not read back, or offsets that cannot be read', () => {
    expect(check([rj(1, 100), rc(2, 100, 0, 7, true)]).violations).toEqual(['group-commit-lost']);
    expect(check([rj(1, 100), rc(2, 100, 1, 1, true)]).violations).toEqual(['group-commit-lost']);
    expect(check([rj(1, 100), rc(2, 100, 0, 1, true)], 'TIMEOUT').violations).toEqual(['group-commit-lost']);
  });
});
