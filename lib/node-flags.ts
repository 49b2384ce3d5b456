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
//
// --gc-memory-reducer-start-delay-ms=60000: V8's memory reducer (the collections that give memory
// back once a process goes quiet) starts after 60 s of quiet instead of 8 s. Its collections threw
// away the optimized code of the whole request path ("weak objects" deoptimizations, 28–36 functions
// in `--trace-deopt`), so the first requests after every pause longer than 8 s ran slow until
// TurboFan recompiled: after 3 s of load and 20 s idle, the next 10 s at c=64 had p99 2.7–3.1 ms and
// the 10 s after that 2.4–2.6 ms, against 2.0–2.7 and 1.8–1.9 ms with the delay (1 deoptimization in
// the same pause). Knative keeps an idle revision 60–90 s before it scales to zero, and pauses
// shorter than that are the normal traffic of a serverless service. The price: after a burst `kedge
// up` holds ~81 MB for a minute before it is back at 70–71 MB (with 8 s: after ~15 s).
export const KEDGE_NODE_FLAGS: readonly string[] = Object.freeze([
  '--max-semi-space-size=1',
  '--heap-growing-percent=50',
  '--gc-memory-reducer-start-delay-ms=60000',
]);
