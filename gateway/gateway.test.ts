// The conformance suite (testing/conformance.ts) with the default upstream client, the raw pool,
// behind both front ends. gateway-undici.test.ts runs it with undici.
import { conformance } from './testing/conformance.js';

for (const frontend of ['uws', 'node'] as const) conformance(frontend, 'raw');
