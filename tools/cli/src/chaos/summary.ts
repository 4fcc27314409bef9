/** The crash test's report: a plain-text summary for the terminal and a Markdown section for the docs. */
import type { ChaosSummary } from './run.js';

const n = (x: number) => x.toLocaleString('en-US');

function errorList(s: ChaosSummary): string {
  const list = Object.entries(s.errors).sort((a, b) => b[1] - a[1]);
  return list.length === 0 ? 'none' : list.map(([k, v]) => `${k} ×${n(v)}`).join(', ');
}

/** ` (unavailable 120-340 ms per move)`, or nothing without moves. */
function moveFigures(s: ChaosSummary): string {
  if (s.moveMs.length === 0) return '';
  const sorted = [...s.moveMs].sort((a, b) => a - b);
  return ` (unavailable ${Math.round(sorted[0]!)}-${Math.round(sorted.at(-1)!)} ms per move, median ${Math.round(sorted[Math.floor(sorted.length / 2)]!)})`;
}

export function formatSummary(s: ChaosSummary): string {
  const st = s.stats;
  const lines = [
    `chaos: ${s.violations.length === 0 ? 'PASS' : 'FAIL'} — seed ${s.seed}, ${(s.durationMs / 1000).toFixed(0)} s of crashes, ${(s.wallMs / 1000).toFixed(0)} s in all`,
    `  load average: ${s.load[0].toFixed(1)} at start, ${s.load[1].toFixed(1)} at the end`,
    `  fleet: ${s.processes} server processes, ${s.shardsPerService} shards per service, ${s.workers} client workers`,
    `  kills: ${n(s.kills)} SIGKILLs (including the final crash of every server); ${n(s.moves)} shard moves${moveFigures(s)}; ${n(s.restores)} restores`,
    `  IDs checked: ${n(st.tsIds)} timestamps, ${n(st.txIds)} TxIds/tx timestamps, ${n(st.sessionIds)} session ids`,
    `  order checks: ${n(st.orderedPairs)} per-shard, ${n(st.crossRestartChecks)} across a restart, ${n(st.clientOrderChecks)} per-client`,
    `  after the run: ${n(st.decisionsChecked)} transaction decisions, ${n(st.epochsChecked)} session epochs read back`,
    ...Object.entries(st.services).map(([svc, c]) => `  ${svc}: ${Object.entries(c).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`),
    `  calls: ${Object.entries(s.events).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
    `  errors seen by clients: ${errorList(s)}`,
    `  violations: ${s.violations.length}`,
  ];
  for (const v of s.violations.slice(0, 30)) lines.push(`    [${v.check}] ${v.detail}`);
  if (s.violations.length > 30) lines.push(`    … and ${s.violations.length - 30} more`);
  return lines.join('\n');
}

export function summaryMarkdown(s: ChaosSummary, machine: string): string {
  const st = s.stats;
  return [
    '## Cross-shard crash test (`npm run chaos`)',
    '',
    `Machine: ${machine}; 1-min load average ${s.load[0].toFixed(1)} at start, ${s.load[1].toFixed(1)} at the end (other work shared the machine).`,
    '',
    `Command: \`npm run bench:chaos -- --minutes ${(s.durationMs / 60_000).toFixed(1)}\` (seed ${s.seed}). Result: **${s.violations.length === 0 ? 'PASS' : 'FAIL'}**.`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| crash phase / wall time | ${(s.durationMs / 1000).toFixed(0)} s / ${(s.wallMs / 1000).toFixed(0)} s |`,
    `| server processes (${3 + Object.keys(st.services).length} services) | ${s.processes} |`,
    `| shards per service | ${s.shardsPerService} |`,
    `| client worker processes | ${s.workers} |`,
    `| SIGKILLs (incl. final crash of all) | ${n(s.kills)} |`,
    `| online shard moves${moveFigures(s)} | ${n(s.moves)} |`,
    `| restores (a backup put back in place of a killed process) | ${n(s.restores)} |`,
    `| timestamps checked | ${n(st.tsIds)} |`,
    `| TxIds + tx timestamps checked | ${n(st.txIds)} |`,
    `| session ids checked | ${n(st.sessionIds)} |`,
    `| per-shard order checks | ${n(st.orderedPairs)} |`,
    `| checks across a restart | ${n(st.crossRestartChecks)} |`,
    `| per-client order checks | ${n(st.clientOrderChecks)} |`,
    `| decisions read back after the final crash | ${n(st.decisionsChecked)} |`,
    `| session epochs read back | ${n(st.epochsChecked)} |`,
    ...Object.entries(st.services).flatMap(([svc, c]) => Object.entries(c).map(([k, v]) => `| ${svc}: ${k} | ${n(v)} |`)),
    `| calls answered | ${n(Object.entries(s.events).filter(([k]) => !['err', 'txi', 'soi'].includes(k)).reduce((a, [, v]) => a + v, 0))} |`,
    `| client-visible errors | ${n(Object.values(s.errors).reduce((a, b) => a + b, 0))} |`,
    `| **violations** | **${s.violations.length}** |`,
    '',
    `Errors seen by clients, by call and code: ${errorList(s)}. A call about an existing ID (commit, validate, a named producer's open) must wait for the one process owning its shard; it times out (client timeout 5 s) when that process is down or still reopening its shards. Fresh-ID calls fail over to other shards but can still time out when the machine is saturated. Errors are expected under crashes; violations are not.`,
  ].join('\n');
}
