// The conformance suite (testing/conformance.ts) with every request through undici
// (KEDGE_UPSTREAM=undici), behind both front ends. Its own file so the runner overlaps it with
// gateway.test.ts.
import { conformance } from './testing/conformance.js';

for (const frontend of ['uws', 'node'] as const) conformance(frontend, 'undici');
