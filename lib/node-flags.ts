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
export const KEDGE_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=1']);
