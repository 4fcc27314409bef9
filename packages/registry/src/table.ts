import type { OpSpec } from '@pharaoh/protocol';
import type { Registry } from './define.js';

function route(o: OpSpec): string {
  // A shard-routed op that issues no ID is about a key of that shard (a subject, a group): the client routes it by key.
  if (o.route === 'shard') return o.issues === 0 ? 'shard (by key)' : 'shard (fresh ID)';
  return `shard of \`${o.route.id}\``;
}

/**
 * The docs' table of services (docs/DESIGN.md, between `<!-- registry:services -->`
 * markers), written from the registry: the registry test fails when the page
 * holds anything else.
 */
export function serviceTable(registry: Registry): string {
  const rows = registry.services.map((s) => {
    const l = s.layout;
    const ops = Object.entries(s.ops).map(([op, o]) => `\`${op}\` → ${route(o)}`).join('<br>');
    return `| \`${s.name}\` | ${s.title} | ${l.name}: ${l.timeBits} time \\| ${l.shardBits} shard \\| ${l.seqBits} seq | ${s.ports.ws} / ${s.ports.http} | ${s.shardsPerPod} | ${ops} |`;
  });
  return [
    '| service | what | ID layout | ports ws / http | shards per pod | ops → routed by |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
