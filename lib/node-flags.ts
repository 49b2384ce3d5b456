// The V8 flags every kedge process runs with: `npm start`, the `kedge` command's shebang, the
// container image's ENTRYPOINT and the benchmarks all take them from here (a test pins each).
//
// --max-semi-space-size=1 (MB): a young generation of 1 MB instead of Node 20's 16 MB. The
// gateway allocates ~3.5 KB per proxied request, almost all of it dead by the response; with
// 16 MB semi-spaces a scavenge came every ~60 ms and paused the loop 0.3–0.46 ms, and each one
// delayed every request in flight, which put the pauses straight into p99. With 1 MB a scavenge
// comes every ~4 ms and takes 0.06–0.08 ms, and the allocation area stays in the CPU caches:
// measured side by side at c=64 (bench/README.md, "young generation"), p99 2.0 → 1.55 ms and
// +3 % req/s, RSS 78 → 70 MB. Survivors are promoted sooner, so old-generation collections come
// more often (one incremental mark-compact, 2.3 ms, per ~500 000 requests).
//
// --heap-growing-percent=50: after a mark-compact, the old generation may grow to 1.5× what
// survived it (or by V8's minimum step, 8 MB, whichever is more) before the next one. Left to
// itself V8 picks the factor from how fast it collects, and a gateway whose collections are quick
// got its maximum, 4×: at c=256, where in-flight requests outlive two scavenges and are promoted
// (~20 MB/s), the old generation climbed from ~15 MB live to ~62 MB between collections and
// `kedge up` peaked at 106–124 MB RSS. With 1.5× it peaks at 83–84 MB; the cost is more
// mark-compacts under that load (22 against 17 in 25 s, 52 against 38 ms of pause in all).
// bench/README.md, "old-generation growth".
export const KEDGE_NODE_FLAGS: readonly string[] = Object.freeze([
  '--max-semi-space-size=1',
  '--heap-growing-percent=50',
]);
