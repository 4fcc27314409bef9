/**
 * Entry point: `tsx apps/session-mgr/src/main.ts --shards 0-1023 --port 7300 --http-port 7301 --data ./data`
 * plus session-mgr's own flags (see README). Its options are validated before any shard opens.
 */
import { runServiceMain } from '@pharaoh/server';
import { parseSessionOptions, SESSION_CLI_OPTIONS } from './options.js';
import { sessionService } from './service.js';

await runServiceMain(sessionService, process.argv, (parsed) => {
  const app: Record<string, unknown> = {};
  for (const o of SESSION_CLI_OPTIONS) {
    const key = o.flags.replace(/^--([a-z-]+).*$/, '$1').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (parsed[key] !== undefined) app[key] = parsed[key];
  }
  try {
    parseSessionOptions(app);
  } catch (err) {
    process.stderr.write(`pharaoh session-mgr: ${(err as Error).message}\n`);
    process.exit(1);
  }
  return { app };
});
