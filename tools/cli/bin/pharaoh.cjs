#!/usr/bin/env node
'use strict';
// The `pharaoh` command, ONE process (its pid is the one to signal, and
// SIGTERM reaches the real code). There is no build step: this runs an
// esbuild bundle of src/main.ts that bin/bundle.cjs keeps up to date in
// node_modules/.cache/pharaoh (a 1024-shard server starts ~0.6 s sooner than
// from the sources), or the TypeScript sources through tsx's loader when the
// bundle cannot be had or PHARAOH_BUNDLE=0.
//
// CommonJS on purpose: it runs before Node's ESM loader has used libuv's thread
// pool, so the pool size below still takes effect. Every fsync, file create and
// lock runs on that pool; libuv's default of 4 threads lets only 4 shards'
// fsyncs be in flight at once, while the disk can merge many more into one
// journal commit. An explicit UV_THREADPOOL_SIZE wins.
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '16';

const { pathToFileURL } = require('node:url');
const { join } = require('node:path');
const { bundleEntry } = require('./bundle.cjs');

const fail = (err) => {
  process.stderr.write(`pharaoh: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
};

const bundle = bundleEntry((msg) => process.stderr.write(`pharaoh: ${msg}\n`));
if (bundle !== undefined) {
  // Stack traces name the TypeScript sources (the bundle has a linked source
  // map) — except in `pharaoh serve`, where reading the maps of the server's
  // chunks cost ~130 ms of a 1024-shard start (restart 480 → 350 ms, measured
  // with bench:tso); its traces name the bundle's chunks and functions.
  // PHARAOH_SOURCE_MAPS=1 turns them on there too, =0 off everywhere.
  const maps = process.env.PHARAOH_SOURCE_MAPS;
  if (maps === '1' || (maps !== '0' && process.argv[2] !== 'serve')) process.setSourceMapsEnabled(true);
  import(pathToFileURL(bundle).href).catch(fail);
} else {
  import('tsx/esm/api')
    .then(({ register }) => {
      register();
      return import(pathToFileURL(join(__dirname, '..', 'src', 'main.ts')).href);
    })
    .catch(fail);
}
