// `npm run bench`: every benchmark, printed as markdown for BENCHMARKS.md. `npm run bench -- edge`
// runs only the named groups (runtime, edge, fetch, isolation, http).
import { cpus } from 'node:os';
import { edgeBench } from './edge.mjs';
import { fetchBench } from './fetch.mjs';
import { httpBench } from './http.mjs';
import { isolationBench } from './isolation.mjs';
import { runtimeBench } from './runtime.mjs';

const groups = { runtime: runtimeBench, edge: edgeBench, fetch: fetchBench, isolation: isolationBench, http: httpBench };
const chosen = process.argv.slice(2).filter((g) => g in groups);
console.log(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}\n`);
for (const name of chosen.length ? chosen : Object.keys(groups)) console.log(await groups[name]());
