/**
 * Entry point: `tsx apps/session-mgr/src/main.ts --shards 0-1023 --port 7300 --http-port 7301 --data ./data`
 * plus session-mgr's own flags (see README): the same code as `pharaoh serve session-mgr`.
 */
import { runServiceMain } from '@pharaoh/server';
import { sessionService } from './service.js';

await runServiceMain(sessionService);
