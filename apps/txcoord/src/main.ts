/**
 * Entry point: `tsx apps/txcoord/src/main.ts --shards 0-1023 --port 7200 --http-port 7201 --data ./data`
 * plus txcoord's own flags (see README): the same code as `pharaoh serve txcoord`.
 */
import { runServiceMain } from '@pharaoh/server';
import { txcoordService } from './service.js';

await runServiceMain(txcoordService);
