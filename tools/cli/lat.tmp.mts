import { readNdjson } from './src/chaos/events.ts';
const dir = process.argv[2]!;
const ev = [0,1,2].flatMap((w) => { try { return readNdjson<any>(`${dir}/worker-${w}.ndjson`); } catch { return []; } });
const by: Record<string, number[]> = {};
for (const e of ev) if (e.r !== undefined) (by[e.k] ??= []).push(e.r - e.s);
for (const [k, l] of Object.entries(by)) { l.sort((a,b)=>a-b); console.log(k, l.length, 'p50', l[l.length>>1], 'p90', l[Math.floor(l.length*0.9)], 'max', l[l.length-1]); }
console.log('span', Math.max(...ev.filter(e=>e.r).map(e=>e.r)) - Math.min(...ev.filter(e=>e.s).map(e=>e.s)));
