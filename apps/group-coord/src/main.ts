/**
 * Entry point: `tsx apps/group-coord/src/main.ts --shards 0-1023 --port 7400 --http-port 7401 --data ./data`
 * plus group-coord's own flags (see README): the same code as `pharaoh serve group-coord`.
 */
import { runServiceMain } from '@pharaoh/server';
import { groupService } from './service.js';

await runServiceMain(groupService);
