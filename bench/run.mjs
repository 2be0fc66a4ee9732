// `npm run bench`: every benchmark, printed as markdown for BENCHMARKS.md. `npm run bench -- edge`
// runs only the named groups (runtime, edge, fetch, isolation, placement, http, otel, broker, scale, graph, engines, cli, hostile); `soak` (an hour: SOAK_MINUTES)
// runs only when named.
import { cpus } from 'node:os';
import { edgeBench } from './edge.mjs';
import { fetchBench } from './fetch.mjs';
import { httpBench } from './http.mjs';
import { isolationBench, placementBench } from './isolation.mjs';
import { runtimeBench } from './runtime.mjs';
import { soakBench } from './soak.mjs';
import { otelBench } from './otel.mjs';
import { brokerBench } from './broker.mjs';
import { scaleBench } from './scale.mjs';
import { graphBench } from './graph.mjs';
import { enginesBench } from './engines.mjs';
import { cliBench } from './cli.mjs';
import { hostileBench } from './hostile.mjs';

const groups = { runtime: runtimeBench, edge: edgeBench, fetch: fetchBench, isolation: isolationBench, placement: placementBench, http: httpBench, otel: otelBench, broker: brokerBench, scale: scaleBench, graph: graphBench, engines: enginesBench, cli: cliBench, hostile: hostileBench, soak: soakBench };
/** Run only when named: an hour by default. */
const EXPLICIT_ONLY = new Set(['soak']);
const chosen = process.argv.slice(2).filter((g) => g in groups);
console.log(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}\n`);
for (const name of chosen.length ? chosen : Object.keys(groups).filter((g) => !EXPLICIT_ONLY.has(g))) console.log(await groups[name]());
