#!/usr/bin/env node
// The `pharaoh` command. There is no build step: register tsx's ESM loader in
// this process and import the TypeScript entry point, so `pharaoh` is ONE
// process (its pid is the one to signal, and SIGTERM reaches the real code).
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
