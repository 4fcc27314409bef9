/**
 * Node (V8) flags every `pharaoh serve` process is started with: put them
 * between `node` and `pharaoh.cjs` (`node --max-semi-space-size=4
 * tools/cli/bin/pharaoh.cjs serve …`). The fleet supervisor
 * (fleet/child.ts), the container entry point (deploy/entrypoint.sh, which
 * spells them out) and the benchmarks do.
 *
 * Why a command-line flag: V8 sizes its young generation when the isolate is
 * created, before any JavaScript runs, so neither the launcher
 * (`v8.setFlagsFromString`, tried: no effect on the size) nor the server can
 * cap it; a second process to re-exec node with the flag would break "one
 * process, its pid is the server's". (`--semi-space-growth-factor=1` can be set
 * at run time but pins each semi-space at V8's 1 MiB minimum: ~4× the
 * scavenges of a 4 MiB cap and more objects promoted early, measured.)
 */

/**
 * `--max-semi-space-size=4` (MiB per semi-space; Node 20's default on this
 * 24 GiB machine is 16): a 1024-shard TSO process grew by ~25 MiB under load,
 * almost all of it the young generation's two semi-spaces growing to 2 × 16
 * MiB; capped at 2 × 4 MiB its RSS after bench:tso's load is ~74 MiB instead
 * of ~96 MiB (issue 16: < 100 MB). The server's garbage per request is small
 * and short-lived, so the cap costs more frequent but equally cheap scavenges
 * (measured in docs/BENCHMARKS.md, issue 16).
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
