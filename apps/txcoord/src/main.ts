/**
 * Entry point: `tsx apps/txcoord/src/main.ts --shards 0-1023 --port 7200 --http-port 7201 --data ./data`
 * plus txcoord's own flags (see README). Its options are validated before any shard opens.
 */
import { runServiceMain } from '@pharaoh/server';
import { parseTxcoordOptions, TXCOORD_CLI_OPTIONS } from './options.js';
import { txcoordService } from './service.js';

await runServiceMain(txcoordService, process.argv, (parsed) => {
  const app: Record<string, unknown> = {};
  for (const o of TXCOORD_CLI_OPTIONS) {
    const key = o.flags.replace(/^--([a-z-]+).*$/, '$1').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (parsed[key] !== undefined) app[key] = parsed[key];
  }
  try {
    parseTxcoordOptions(app);
  } catch (err) {
    process.stderr.write(`pharaoh txcoord: ${(err as Error).message}\n`);
    process.exit(1);
  }
  return { app };
});
